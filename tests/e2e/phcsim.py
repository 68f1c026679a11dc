# SPDX-License-Identifier: BSD-2-Clause
"""Run phcsyncd under the clock simulator and read back what happened: the one harness of
the e2e tests (e2e.py and its cases_*.py), scripts/bench.py, sweep.py and fuzz.py.

phcsyncd may set the clock, so it is only ever started through the phcsim harness, which
preloads libphcsim.so, drops CAP_SYS_TIME and handshakes with the library before the
daemon's main() runs. phcsim_argv() is the only place that builds a command line naming
a daemon, and it always puts phcsim in front. Paths come from the environment that
tests/e2e/meson.build sets (PHCSIM, PHCSIM_LIB, PHCSYNCD, PHCSYNCCTL), or from a build
directory (build_env).

Exit statuses, as meson reads them: SKIP (77) when this machine cannot run a test (a tool
or a privilege it needs is missing: raise Skip), HARD_ERROR (99) when the harness itself
is broken (a program missing, phcsim refusing to start: HarnessError).
"""

import json
import os
import re
import shutil
import string
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIOS = os.path.join(HERE, "scenarios")

# linux/timex.h
ADJ_FREQUENCY = 0x0002
ADJ_MAXERROR = 0x0004
ADJ_STATUS = 0x0010
ADJ_SETOFFSET = 0x0100
ADJ_TICK = 0x4000
STA_UNSYNC = 0x0040

# Settings every run gets: no control socket under /run, no leap table from the host, and
# the seccomp filter, so that a system call the loop needs but the filter forgot fails a
# test here instead of a user's daemon (SIGSYS). Sanitizer builds turn it off (meson.build).
SECCOMP = "seccomp " + os.environ.get("PHCSYNC_E2E_SECCOMP", "yes")
BASE_CONF = ["control_socket none", "leapfile none", SECCOMP]

# Real seconds a run may take: a simulated hour takes well under one.
RUN_TIMEOUT_S = 20
# Exit statuses meson knows: a test skipped, and a harness that cannot run (see above).
SKIP = 77
HARD_ERROR = 99


class HarnessError(Exception):
    """The simulator or the daemon is missing: the test cannot run safely (HARD_ERROR)."""


class Skip(Exception):
    """This machine lacks what a test needs, a tool or a privilege (SKIP)."""


# The programs in a meson build directory, by the variable that names each.
BUILD_PATHS = {"PHCSIM": "tests/sim/phcsim", "PHCSIM_LIB": "tests/sim/libphcsim.so",
               "PHCSYNCD": "phcsyncd", "PHCSYNCCTL": "phcsyncctl"}


def build_env(build):
    """The harness's environment for the programs of the build directory build."""
    return {var: os.path.join(os.path.abspath(build), rel) for var, rel in BUILD_PATHS.items()}


def use_build(build):
    """Point this process and its workers at the programs of the build directory build,
    where the environment does not name them already; the Harness."""
    for var, path in build_env(build).items():
        os.environ.setdefault(var, path)
    return Harness()


class Harness:
    """The four programs, checked before anything runs; env defaults to os.environ."""

    def __init__(self, env=None):
        env = os.environ if env is None else env
        for var, attr in (("PHCSIM", "phcsim"), ("PHCSIM_LIB", "lib"), ("PHCSYNCD", "daemon"),
                          ("PHCSYNCCTL", "ctl")):
            path = env.get(var, "")
            if not path or not os.path.isfile(path):
                raise HarnessError(f"{var} is not set to an existing file ({path!r})")
            if var != "PHCSIM_LIB" and not os.access(path, os.X_OK):
                raise HarnessError(f"{path} is not executable")
            setattr(self, attr, path)

    def phcsim_argv(self, scenario, trace, daemon_args, seed=None, duration_s=None,
                    exec_log=None, program=None):
        """The only command line that runs a daemon (phcsyncd unless program names another):
        always under phcsim and its library."""
        argv = [self.phcsim, "-L", self.lib, "-s", scenario]
        if trace is not None:
            argv += ["-t", trace]
        if exec_log is not None:
            argv += ["--exec-log", exec_log]
        if seed is not None:
            argv += ["--seed", str(seed)]
        if duration_s is not None:
            argv += ["--duration", str(duration_s)]
        return argv + ["--", program or self.daemon] + list(daemon_args)


class Run:
    """One finished run: exit status, output, log lines and the parsed trace."""

    def __init__(self, label, scenario, rc, stdout, stderr, trace_text):
        self.label = label
        self.scenario = scenario
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.trace_text = trace_text
        self.records = [json.loads(line) for line in trace_text.splitlines() if line]
        self.ticks = [r for r in self.records if r["type"] == "tick"]
        self.adjs = [r for r in self.records if r["type"] == "adj"]
        self.events = [r for r in self.records if r["type"] == "event"]
        start = [r for r in self.records if r["type"] == "start"]
        self.seed = start[0]["seed"] if start else None
        self.log = [line for line in stderr.splitlines()
                    if line.startswith(("phcsyncd t=", "phcsyncd: "))]

    def where(self):
        return f"scenario {self.scenario}, seed {self.seed}, run '{self.label}'"

    def steps(self):
        """The adj records that stepped CLOCK_REALTIME."""
        return [a for a in self.adjs if "step_ns" in a and a["modes"] & ADJ_SETOFFSET]

    def setting_adjs(self):
        """Every traced clock-setting call (reads are not traced)."""
        return [a for a in self.adjs if a["modes"] != 0]

    def phc_offset(self, dev=0):
        """A function of t: the PHC's error against true time from its phc_step events, which
        the system clock should follow."""
        steps = [(e["t"], e["step_ns"]) for e in self.events
                 if e["event"] == "phc_step" and e["dev"] == dev]
        return lambda t: sum(ns for at, ns in steps if at <= t)

    def errors(self, since_t=0.0, until_t=None, ref=None):
        """The tick offsets from since_t to until_t, less ref(t) (the offset the clock
        should have) when given."""
        return [
            k["offset_ns"] - (ref(k["t"]) if ref else 0)
            for k in self.ticks
            if k["t"] >= since_t and (until_t is None or k["t"] <= until_t)
        ]

    def lock_time(self, bound_ns=1000, since_t=0.0, until_t=None, ref=None):
        """The first tick from since_t on after which |error| stays below bound_ns until
        until_t (or the end), or None."""
        lock = None
        for k in self.ticks:
            if k["t"] < since_t or (until_t is not None and k["t"] > until_t):
                continue
            if abs(k["offset_ns"] - (ref(k["t"]) if ref else 0)) < bound_ns:
                if lock is None:
                    lock = k["t"]
            else:
                lock = None
        return lock

    def log_grep(self, pattern):
        return [line for line in self.log if re.search(pattern, line)]

    def log_number(self, pattern):
        """The first group of the first log line matching pattern, as a float."""
        for line in self.log:
            m = re.search(pattern, line)
            if m:
                return float(m.group(1))
        return None

    def ended_by_scenario(self):
        return any(r["type"] == "end" for r in self.records)


def rms(values):
    return (sum(v * v for v in values) / len(values)) ** 0.5 if values else float("nan")


def max_abs(values):
    return max((abs(v) for v in values), default=float("nan"))


def mean(values):
    return sum(values) / len(values) if values else float("nan")


class Workdir:
    """A temporary directory for one test's files, kept when the test fails; or the
    directory path, made if need be."""

    def __init__(self, name, path=None):
        if path:
            os.makedirs(path, exist_ok=True)
        self.path = path or tempfile.mkdtemp(prefix=f"phcsync-e2e-{name}-")

    def file(self, name, text):
        path = os.path.join(self.path, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def remove(self):
        shutil.rmtree(self.path, ignore_errors=True)


def scenario_text(name, subst=None, events=()):
    """A fixture from scenarios/, with its ${placeholders} filled and events appended."""
    with open(os.path.join(SCENARIOS, name)) as f:
        text = string.Template(f.read()).substitute(subst or {})
    return text + "".join(f"{e}\n" for e in events)


def daemon_conf(lines=()):
    """BASE_CONF with lines added; a line whose key BASE_CONF has replaces that base line
    (a key may be given once)."""
    keys = {line.split()[0] for line in lines}
    base = [line for line in BASE_CONF if line.split()[0] not in keys]
    return "".join(f"{line}\n" for line in base + list(lines))


def run(harness, work, label, scenario, subst=None, events=(), conf=(), args=("-n",),
        seed=None, duration_s=None, conf_text=None, with_conf=True, program=None,
        exec_log=False, timeout_s=RUN_TIMEOUT_S):
    """Run the daemon (or program, under phcsim all the same) on a scenario fixture. Its
    configuration is daemon_conf(conf), or the text conf_text verbatim, passed as '-f FILE'
    after args unless with_conf is false. With exec_log, what the scenario's exec events
    print untold goes to LABEL.exec.log instead of the run's stdout."""
    scn = work.file(f"{label}.scn", scenario_text(scenario, subst, events))
    trace = os.path.join(work.path, f"{label}.jsonl")
    daemon_args = list(args)
    if conf_text is None:
        conf_text = daemon_conf(conf)
    if with_conf:
        daemon_args += ["-f", work.file(f"{label}.conf", conf_text)]
    log = os.path.join(work.path, f"{label}.exec.log") if exec_log else None
    argv = harness.phcsim_argv(scn, trace, daemon_args, seed, duration_s, log, program)
    with subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, cwd=work.path) as proc:
        try:
            stdout, stderr = proc.communicate(timeout=timeout_s)
            timed_out = False
        except subprocess.TimeoutExpired:
            # phcsim forwards SIGTERM to the daemon, so neither is left behind.
            proc.terminate()
            stdout, stderr = proc.communicate()
            timed_out = True
    work.file(f"{label}.out", stdout)
    work.file(f"{label}.log", stderr)
    if timed_out:
        raise RuntimeError(f"run '{label}' ({scenario}) took over {timeout_s} s of "
                           "real time: does the daemon still wait?")
    if proc.returncode in (125, 126, 127):
        raise HarnessError(f"phcsim failed with {proc.returncode} ({scenario}): "
                           f"{stderr.strip()}")
    trace_text = ""
    if os.path.exists(trace):
        with open(trace) as f:
            trace_text = f.read()
    return Run(label, scenario, proc.returncode, stdout, stderr, trace_text)
