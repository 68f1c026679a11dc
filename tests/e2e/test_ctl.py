#!/usr/bin/env python3
"""End-to-end tests of the control socket: phcsyncd under the clock simulator, phcsyncctl
and other clients run at chosen simulated times by the simulator's exec events.

Usage: test_ctl.py CASE...   (test_ctl.py --list names the cases)

The daemon only ever runs under phcsim (paths from meson's environment: PHCSIM,
PHCSIM_LIB, PHCSYNCD, PHCSYNCCTL). Each case writes a scenario whose `at TIME exec`
lines run clients; virtual time stands while a client runs, so what it sees is what the
daemon knew at TIME, the same in every run. Each client's output goes to a file of its
own, its exit status to the trace. Every check prints the figure it saw. Exit status: 0
when all checks pass, 1 otherwise, 77 (skip) when the harness is missing.
"""

import json
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
RUN_TIMEOUT_S = 120  # real seconds for one run, clients included
READINGS = 5  # readings per poll, set in the configuration

# The KVM scenario of the other e2e tests: REALTIME 1.5 s off and 50 ppm fast; the daemon
# reads with PTP_SYS_OFFSET_PRECISE, whose cross-timestamps carry 20 ns Gaussian noise.
SCENARIO = """name e2e-ctl
seed 1
duration {duration}
start 2025-03-01T12:00:00
sys_offset 1.5s
sys_freq_ppm 50
sys_random_walk_ppb 1
phc kvm 0
noise 100ns
noise_exp 150ns
"""
PRECISE_NOISE_NS = 20
# A status reports the offset measured at the daemon's last update. The truth then is the
# trace's offset at that update's first clock_adjtime call, less the step it took (the
# call follows the reading by microseconds: under 1 ns of drift at 50 ppm). The two may
# differ by the reading's noise, which the reported error bound does not include: allow
# 4 sigma of it.
OFFSET_MARGIN_NS = 4 * PRECISE_NOISE_NS
ADJ_SETOFFSET = 0x0100


class Skip(Exception):
    pass


def tool(var):
    path = os.environ.get(var, "")
    if not path or not os.access(path, os.X_OK):
        raise Skip(f"{var} is not set to an executable ({path!r})")
    return path


class Case:
    """One run of the daemon with exec events, and the checks on it."""

    def __init__(self, name):
        self.name = name
        self.phcsim = tool("PHCSIM")
        self.lib = tool("PHCSIM_LIB")
        self.daemon = tool("PHCSYNCD")
        self.ctl = tool("PHCSYNCCTL")
        self.dir = tempfile.mkdtemp(prefix=f"phcsync-ctl-{name}-")
        self.sock = os.path.join(self.dir, "s.sock")
        self.events = []
        self.failed = 0
        self.count = 0

    def path(self, name):
        return os.path.join(self.dir, name)

    def ctl_cmd(self, args, out, sock=None):
        """A phcsyncctl command line; its stdout goes to the file out."""
        argv = [self.ctl, "-s", sock or self.sock] + args
        return f"{shlex.join(argv)} >{shlex.quote(self.path(out))}"

    def at(self, t, command):
        self.events.append(f"at {t} exec {command}")

    def conf(self, extra=()):
        seccomp = "seccomp " + os.environ.get("PHCSYNC_E2E_SECCOMP", "yes")
        lines = [f"control_socket {self.sock}", "leapfile none", seccomp,
                 f"readings {READINGS}"]
        return "".join(f"{line}\n" for line in lines + list(extra))

    def run(self, duration="700s", conf_extra=()):
        scn = self.path("ctl.scn")
        with open(scn, "w") as f:
            f.write(SCENARIO.format(duration=duration))
            f.write("".join(f"{e}\n" for e in self.events))
        with open(self.path("phcsyncd.conf"), "w") as f:
            f.write(self.conf(conf_extra))
        trace = self.path("trace.jsonl")
        argv = [self.phcsim, "-L", self.lib, "-s", scn, "-t", trace,
                "--exec-log", self.path("exec.log"), "--",
                self.daemon, "-n", "-f", self.path("phcsyncd.conf")]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
                              stdin=subprocess.DEVNULL, cwd=self.dir)
        self.rc = proc.returncode
        self.log = proc.stderr
        with open(self.path("daemon.log"), "w") as f:
            f.write(proc.stderr)
        if proc.returncode in (125, 126, 127):
            raise Skip(f"phcsim failed with {proc.returncode}: {proc.stderr.strip()}")
        with open(trace) as f:
            self.records = [json.loads(line) for line in f if line.strip()]
        self.ticks = [r for r in self.records if r["type"] == "tick"]
        self.adjs = [r for r in self.records if r["type"] == "adj"]
        self.execs = [r for r in self.records
                      if r["type"] == "event" and r["event"] == "exec"]
        self.check(self.rc == 0, f"daemon exit status {self.rc}")
        self.check(len(self.execs) == len(self.events),
                   f"{len(self.execs)} of {len(self.events)} exec events ran")

    def check(self, ok, figure):
        self.count += 1
        print(f"{'ok' if ok else 'not ok'} {self.count} - {self.name}: {figure}")
        if not ok:
            self.failed += 1
        return ok

    def exec_at(self, needle):
        """The exec record whose command contains needle."""
        found = [e for e in self.execs if needle in e["command"]]
        if not found:
            raise AssertionError(f"no exec event with {needle!r} in the trace")
        return found[0]

    def output(self, name):
        with open(self.path(name)) as f:
            return f.read()

    def json_output(self, name):
        return json.loads(self.output(name))

    def truth_of_last_update(self, t):
        """The true offset when the daemon took its last sample before t (see the top)."""
        before = [a for a in self.adjs if a["t"] <= t]
        first = next(a for a in before if a["t"] == before[-1]["t"])
        return first["offset_ns"] - first.get("step_ns", 0), first["t"]

    def steps_before(self, t):
        return [a for a in self.adjs
                if a["t"] <= t and "step_ns" in a and a["modes"] & ADJ_SETOFFSET]

    def finish(self):
        if self.failed:
            print(f"# {self.name}: {self.failed} of {self.count} checks failed; "
                  f"files kept in {self.dir}")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        return 1 if self.failed else 0


# ---- status ----

def case_status():
    """Status while converging (before the first step, just after it, at 5 s) and when
    locked (600 s): state, offset against the truth, device, readout and steps."""
    c = Case("status")
    times = {"0.5s": "unlocked", "1.5s": "stepping", "5s": "locked", "600s": "locked"}
    for t in times:
        c.at(t, c.ctl_cmd(["-j", "status"], f"status-{t}.json"))
    c.at("600s", c.ctl_cmd(["status"], "status-600s.txt"))
    c.run()
    for t, state in times.items():
        e = c.exec_at(f"status-{t}.json")
        st = c.json_output(f"status-{t}.json")
        truth, t_update = c.truth_of_last_update(e["t"])
        err = st["last_offset_ns"] - truth
        bound = st["error_bound_ns"] + OFFSET_MARGIN_NS
        steps = len(c.steps_before(e["t"]))
        c.check(e["status"] == 0, f"at {t}: phcsyncctl exit {e['status']}")
        c.check(st["ok"] is True and st["state"] == state,
                f"at {t}: state {st['state']} (want {state}), servo {st['servo_state']}")
        c.check(abs(err) <= bound,
                f"at {t}: last offset {st['last_offset_ns']} ns, truth at the update at "
                f"{t_update:.6f} s {truth} ns: |error| {abs(err)} <= {bound} ns "
                f"(error bound {st['error_bound_ns']} + {OFFSET_MARGIN_NS})")
        c.check(st["device"] == "/dev/ptp0" and st["clock_name"] == "KVM virtual PTP" and
                st["readout"] == "precise",
                f"at {t}: {st['device']} '{st['clock_name']}' readout {st['readout']}")
        c.check(st["steps"] == steps, f"at {t}: steps {st['steps']}, trace {steps}")
    locked = c.json_output("status-600s.json")
    c.check(locked["stable"] is True and abs(locked["rms_offset_ns"]) < 3 * PRECISE_NOISE_NS,
            f"at 600s: stable {locked['stable']}, rms {locked['rms_offset_ns']:.1f} ns "
            f"< {3 * PRECISE_NOISE_NS} ns")
    text = c.output("status-600s.txt")
    c.check(re.search(r"(?im)^\s*state\s*:\s*locked", text) is not None,
            "human status says the state is locked")
    # Clients do not make a run less reproducible: same trace, same replies.
    first = [c.output(n) for n in ["trace.jsonl"] + [f"status-{t}.json" for t in times]]
    c.run()
    again = [c.output(n) for n in ["trace.jsonl"] + [f"status-{t}.json" for t in times]]
    c.check(first == again, "a second run gives the same trace and replies, byte for byte")
    return c.finish()


# ---- metrics ----

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
LABEL_PARTS = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')
SAMPLE = re.compile(rf"^(?P<name>{NAME})(?:\{{(?P<labels>{LABEL}(?:,{LABEL})*,?)?\}})?"
                    rf" (?P<value>\S+)(?: (?P<ts>-?\d+))?$")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def parse_float(text):
    if text in ("NaN", "+Inf", "-Inf"):
        return float(text.replace("Inf", "inf"))
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", text):
        raise ValueError(f"bad value {text!r}")
    return float(text)


def parse_prometheus(text):
    """Strict Prometheus text format 0.0.4: HELP and TYPE once per family, before its
    samples; samples of a family together; valid names, labels and values; no duplicate
    series; a final newline. Returns {family: {"type", "help", "samples": [(labels,
    value)]}} or raises ValueError."""
    if not text.endswith("\n"):
        raise ValueError("no final newline")
    families, order, current = {}, [], None
    for n, line in enumerate(text[:-1].split("\n"), 1):
        where = f"line {n}: {line!r}"
        if line.startswith("#"):
            m = re.fullmatch(rf"# (HELP|TYPE) ({NAME}) (.*)", line)
            if not m:
                if re.match(r"# (HELP|TYPE)", line):
                    raise ValueError(f"malformed {where}")
                continue
            kind, name, rest = m.groups()
            fam = families.setdefault(name, {"samples": []})
            if kind.lower() in fam or fam["samples"]:
                raise ValueError(f"{kind} repeated or after samples, {where}")
            if kind == "TYPE" and rest not in TYPES:
                raise ValueError(f"unknown type, {where}")
            if kind == "HELP" and not rest.strip():
                raise ValueError(f"empty HELP, {where}")
            fam[kind.lower()] = rest
            if name not in order:
                order.append(name)
            current = name
            continue
        if not line.strip():
            raise ValueError(f"blank {where}")
        m = SAMPLE.match(line)
        if not m:
            raise ValueError(f"malformed sample, {where}")
        name = m["name"]
        pairs = LABEL_PARTS.findall(m["labels"] or "")
        labels = dict(pairs)
        if len(labels) != len(pairs):
            raise ValueError(f"repeated label, {where}")
        value = parse_float(m["value"])
        if name != current or "type" not in families.get(name, {}) or \
                "help" not in families[name]:
            raise ValueError(f"sample without its HELP and TYPE just before, {where}")
        fam = families[name]
        if any(lab == labels for lab, _ in fam["samples"]):
            raise ValueError(f"duplicate series, {where}")
        if fam["type"] == "counter" and (value < 0 or not name.endswith("_total")):
            raise ValueError(f"bad counter, {where}")
        fam["samples"].append((labels, value))
    for name, fam in families.items():
        if not fam["samples"]:
            raise ValueError(f"{name}: HELP/TYPE without samples")
    return families


def case_metrics():
    """metrics is valid Prometheus text that agrees with status; phcsync_state is
    one-hot on the state status reports."""
    c = Case("metrics")
    for t in ("1.5s", "600s"):
        c.at(t, c.ctl_cmd(["-j", "status"], f"status-{t}.json"))
        c.at(t, c.ctl_cmd(["metrics"], f"metrics-{t}.prom"))
        c.at(t, c.ctl_cmd(["-j", "metrics"], f"metrics-{t}.json"))
    c.run()
    for t in ("1.5s", "600s"):
        text = c.output(f"metrics-{t}.prom")
        st = c.json_output(f"status-{t}.json")
        try:
            fams = parse_prometheus(text)
            c.check(True, f"at {t}: {len(fams)} families, "
                    f"{sum(len(f['samples']) for f in fams.values())} samples parse")
        except ValueError as e:
            c.check(False, f"at {t}: metrics do not parse: {e}")
            continue
        c.check(all(n.startswith("phcsync_") for n in fams), f"at {t}: all names phcsync_*")
        state = fams.get("phcsync_state", {"samples": []})["samples"]
        ones = [lab["state"] for lab, v in state if v == 1]
        c.check(len(ones) == 1 and all(v in (0, 1) for _, v in state) and
                ones[0] == st["state"] and len(state) >= 5,
                f"at {t}: phcsync_state one-hot on {ones} of "
                f"{[lab['state'] for lab, _ in state]}, status {st['state']}")
        off = fams["phcsync_offset_seconds"]["samples"][0][1]
        c.check(round(off * 1e9) == st["last_offset_ns"],
                f"at {t}: phcsync_offset_seconds {off!r} = {st['last_offset_ns']} ns")
        steps = fams["phcsync_steps_total"]["samples"][0][1]
        c.check(steps == st["steps"] and fams["phcsync_steps_total"]["type"] == "counter",
                f"at {t}: phcsync_steps_total {steps} (counter) = steps {st['steps']}")
        info = fams["phcsync_info"]["samples"][0][0]
        c.check(info == {"device": "/dev/ptp0", "clock_name": "KVM virtual PTP",
                         "readout": "precise"}, f"at {t}: phcsync_info {info}")
        wrapped = c.json_output(f"metrics-{t}.json")
        c.check(wrapped["ok"] is True and wrapped["metrics"] == text,
                f"at {t}: -j metrics carries the same text")
    return c.finish()


# ---- waitsync ----

def case_waitsync():
    """waitsync: 0 after lock; 1 before lock with a short timeout (time stands while it
    waits, so the daemon cannot lock meanwhile); 2 without a daemon."""
    c = Case("waitsync")
    c.at("0.5s", c.ctl_cmd(["waitsync", "0.5"], "early.out") + " 2>&1")
    c.at("600s", c.ctl_cmd(["-j", "waitsync", "10"], "late.json"))
    c.at("600s", c.ctl_cmd(["waitsync", "1"], "none.out", sock=c.path("nope.sock")) + " 2>&1")
    c.run()
    early = c.exec_at("early.out")
    c.check(early["status"] == 1, f"waitsync 0.5 at 0.5 s: exit {early['status']} (want 1): "
            f"{c.output('early.out').strip()!r}")
    late = c.exec_at("late.json")
    st = c.json_output("late.json")
    c.check(late["status"] == 0 and st["state"] == "locked",
            f"waitsync 10 at 600 s: exit {late['status']}, state {st['state']}, "
            f"last offset {st['last_offset_ns']} ns")
    none = c.exec_at("none.out")
    c.check(none["status"] == 2, f"waitsync on a missing socket: exit {none['status']}: "
            f"{c.output('none.out').strip()!r}")
    return c.finish()


# ---- robustness ----

def case_robust():
    """A client storm at 30 s (200 at once, silent ones, 1 MiB, junk, a disconnect mid-
    reply, then a status that must be answered); afterwards no missed poll in the trace
    and the daemon still answers."""
    c = Case("robust")
    abuse = [sys.executable, os.path.join(HERE, "ctl_abuse.py"), c.sock]
    c.at("30.5s", f"{shlex.join(abuse)} >{shlex.quote(c.path('abuse.out'))} 2>&1")
    c.at("60.5s", c.ctl_cmd(["-j", "status"], "after.json"))
    c.run(duration="70s")
    e = c.exec_at("ctl_abuse.py")
    c.check(e["status"] == 0, f"abuse script exit {e['status']}:\n# " +
            c.output("abuse.out").strip().replace("\n", "\n# "))
    after = c.exec_at("after.json")
    st = c.json_output("after.json")
    c.check(after["status"] == 0 and st["state"] == "locked",
            f"status at 60.5 s: exit {after['status']}, state {st['state']}, "
            f"updates {st['updates']}")
    # From lock on, one tick a second and READINGS PHC reads each: no poll missed or
    # doubled around the storm.
    ticks = [k for k in c.ticks if k["t"] >= 10]
    gaps = [b["t"] - a["t"] for a, b in zip(ticks, ticks[1:])]
    reads = [b["phc_reads"] - a["phc_reads"] for a, b in zip(ticks, ticks[1:])]
    c.check(len(ticks) == 61 and all(g == 1 for g in gaps),
            f"{len(ticks)} ticks from 10 s to 70 s, gaps {sorted(set(gaps))}")
    c.check(all(r == READINGS for r in reads),
            f"PHC reads per second from 10 s: {sorted(set(reads))} (want {READINGS})")
    c.check(c.rc == 0 and "exiting on signal" in c.log, "daemon ran to the end of the scenario")
    return c.finish()


# ---- permissions ----

def case_perm():
    """nobody, in control_group, may ask for status but not step: an error, no step."""
    c = Case("perm")
    os.chmod(c.dir, 0o755)
    # nobody must be able to run the client, wherever the build tree is.
    ctl = c.path("phcsyncctl")
    shutil.copy(c.ctl, ctl)
    os.chmod(ctl, 0o755)
    c.ctl = ctl
    nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    for what in ("status", "step"):
        c.at("20s", f"{shlex.join(nobody)} {c.ctl_cmd([what], f'{what}-out.txt')} "
             f"2>{shlex.quote(c.path(f'{what}-err.txt'))}")
    if not shutil.which("setpriv"):
        raise Skip("setpriv (util-linux) is missing")
    c.run(duration="40s", conf_extra=["control_group nogroup"])
    status = c.exec_at("status-out.txt")
    c.check(status["status"] == 0, f"status as nobody: exit {status['status']} "
            f"{c.output('status-err.txt').strip()!r}")
    step = c.exec_at("step-out.txt")
    err = c.output("step-err.txt").strip()
    c.check(step["status"] == 1 and "permission denied" in err,
            f"step as nobody: exit {step['status']}, {err!r}")
    late = [a for a in c.adjs if a["t"] >= step["t"] and "step_ns" in a]
    c.check(not late, f"steps at or after {step['t']} s: {len(late)}")
    c.check(re.search(r"step refused to uid 65534", c.log) is not None,
            "daemon logged the refusal")
    return c.finish()


# ---- a second daemon ----

def case_second():
    """A second phcsyncd on a live control socket exits 1 with a message; the first
    keeps serving."""
    c = Case("second")
    # The second daemon runs under its own phcsim too, never bare.
    second = [c.phcsim, "-L", c.lib, "-s", c.path("ctl.scn"), "--duration", "5", "--",
              c.daemon, "-n", "-f", c.path("phcsyncd.conf")]
    c.at("10s", f"{shlex.join(second)} >{shlex.quote(c.path('second.log'))} 2>&1")
    c.at("10s", c.ctl_cmd(["-j", "status"], "first.json"))
    c.run(duration="20s")
    e = c.exec_at("second.log")
    log = c.output("second.log").strip()
    c.check(e["status"] == 1, f"second daemon exit {e['status']}")
    c.check(re.search(r"(?i)in use|already|running", log) is not None,
            f"second daemon says why: {log.splitlines()[-1] if log else ''!r}")
    st = c.json_output("first.json")
    c.check(st["ok"] is True and os.path.exists(c.sock) is False,
            f"first daemon still answers (state {st['state']}) and removed its socket "
            "at exit")
    return c.finish()


CASES = {
    "status": case_status,
    "metrics": case_metrics,
    "waitsync": case_waitsync,
    "robust": case_robust,
    "perm": case_perm,
    "second": case_second,
}


def main(argv):
    if argv == ["--list"]:
        print("\n".join(CASES))
        return 0
    if not argv or any(a not in CASES for a in argv):
        print(f"usage: test_ctl.py CASE... (cases: {', '.join(CASES)})", file=sys.stderr)
        return 2
    rc = 0
    for name in argv:
        try:
            rc |= CASES[name]()
        except Skip as e:
            print(f"# skip {name}: {e}")
            return 77
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
