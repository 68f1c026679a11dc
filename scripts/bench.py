#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Benchmark phcsyncd against linuxptp's phc2sys under the clock simulator.

Each scenario in scripts/scenarios/ runs once per daemon under the same seed, through
phcsim only (it drops CAP_SYS_TIME and simulates every clock) by the e2e tests' harness
(tests/e2e/phcsim.py), and the figures come from the trace's true offsets of
CLOCK_REALTIME. NOTES below says how they are computed.

    scripts/bench.py [--build DIR] [--only NAME] [--markdown] [--keep DIR]
"""

import argparse
import bisect
import concurrent.futures
import fnmatch
import math
import os
import shlex
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
import phcsim  # noqa: E402 (found through the line above)

SCENARIOS = os.path.join(HERE, "scenarios")
LOCK_NS = 1000
# The figures start once the error has stayed below LOCK_NS for this long.
SETTLE_S = 10
# The profiles whose PHC keeps TAI unless the scenario says otherwise.
TAI_PROFILES = {"vmclock"}
# phc2sys 3.1.1 runs without ptp4l when the UTC offset is given (-O) and it is not told
# to wait for ptp4l (-w); -q keeps it out of syslog, -m prints to stdout.
PHC2SYS_ARGS = ["-s", "/dev/ptp0", "-c", "CLOCK_REALTIME", "-m", "-q"]
DAEMONS = ("phcsyncd", "phc2sys")

TITLE = ("Error of CLOCK_REALTIME against the PHC's time, time-averaged from the first "
         "10 s below 1 us to the end of the run, event recoveries included")
NOTES = """\
- error: CLOCK_REALTIME minus the time the PHC gives (true UTC plus the PHC's own jumps:
  following the PHC is the best a daemon can do), from the trace's true offsets at every
  tick (1/s) and clock adjustment, linear in between; so rms and sd are time averages,
  whatever the phase of a daemon's polls against the ticks.
- rms, max, sd: from the first moment the error stays below 1 us for 10 s to the end of
  the run, so the recovery from every mid-run event counts: that is what users feel.
  Seconds while the guest is suspended are left out (nothing runs to see them).
- lock: how long until the error stays below 1 us to the end of the run ("never" if it
  does not), counted from the start, or from the scenario event (jump, leap, resume)
  before that moment: the time to recover. On the noisier devices (vmw, hyperv, ena) the
  noise tail crosses 1 us now and then, so there lock is the last such excursion.
- steps: clock steps (adj records with step_ns != 0); reads/s: PHC reads per second awake.
- ratio: phcsyncd / phc2sys; below 1 is better for phcsyncd, except reads/s.
- Both run with their defaults: phcsyncd readings 5, poll_interval 1; phc2sys -N 5 -R 1.
  With PTP_SYS_OFFSET_PRECISE (kvm, vmclock) phc2sys reads once per update whatever -N
  says, so there phcsyncd reads 5 times as often.
- phcsyncd's leap table is its default (leapfile auto: the host's tzdata); phc2sys without
  ptp4l knows of no leap second.
- PRECISE cross-timestamps get 100 ns Gaussian noise (precise_noise 100ns) like the other
  readout methods, which get 100 ns Gaussian plus 150 ns one-sided (exponential) noise."""


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--build", default=os.path.join(REPO, "build"),
                   help="meson build directory (default: %(default)s)")
    p.add_argument("--only", metavar="NAME",
                   help="run only the scenarios whose name matches (shell pattern)")
    p.add_argument("--markdown", action="store_true", help="print a GitHub markdown table")
    p.add_argument("--keep", metavar="DIR", help="keep traces, configs and logs in DIR")
    return p.parse_args()


UNIT_NS = {"ns": 1, "us": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9,
           "h": 3600 * 10**9, "d": 86400 * 10**9}


def time_ns(text):
    """A scenario time ("+20ms", "1.5s", "3") in ns."""
    for unit in sorted(UNIT_NS, key=len, reverse=True):
        if text.endswith(unit):
            return float(text[:-len(unit)]) * UNIT_NS[unit]
    return float(text) * UNIT_NS["s"]


class Scenario:
    """What the benchmark needs from a scenario file: its name, whether device 0 keeps
    TAI, TAI-UTC, and device 0's own initial offset (ns) and frequency error (ppb)."""

    def __init__(self, path):
        self.path = path
        self.name = os.path.splitext(os.path.basename(path))[0]
        self.tai_utc = 37
        self.phc0 = (0.0, 0.0)
        profile = None
        timescale = None
        in_dev0 = False
        self.phcsyncd_extra = []
        with open(path, encoding="utf-8") as f:
            for line in f:
                # "#phcsyncd KEY VALUE": a config line for phcsyncd in this scenario only
                if line.startswith("#phcsyncd "):
                    self.phcsyncd_extra.append(line[len("#phcsyncd "):].strip())
                    continue
                words = line.split("#", 1)[0].split()
                if len(words) < 2:
                    continue
                key, value = words[0], words[1]
                if key == "name":
                    self.name = value
                elif key == "tai_utc":
                    self.tai_utc = int(value)
                elif key == "phc":
                    index = int(words[2]) if len(words) > 2 else None
                    in_dev0 = profile is None and index in (None, 0)
                    if in_dev0:
                        profile = value
                elif in_dev0 and key == "timescale":
                    timescale = value
                elif in_dev0 and key == "offset":
                    self.phc0 = (time_ns(value), self.phc0[1])
                elif in_dev0 and key == "freq_ppb":
                    self.phc0 = (self.phc0[0], float(value))
        if timescale is None:
            timescale = "tai" if profile in TAI_PROFILES else "utc"
        self.tai = timescale == "tai"


def phcsyncd_conf(scn):
    """phcsyncd's defaults plus what the scenario needs."""
    # The time scale explicitly: phcsyncd would guess TAI from a vmclock's name.
    lines = ["device /dev/ptp0", "control_socket none",
             "timescale " + ("tai" if scn.tai else "utc")]
    if scn.tai:
        lines.append("utc_offset %d" % scn.tai_utc)
    lines += scn.phcsyncd_extra
    return "".join(line + "\n" for line in lines)


def daemons(scn, phc2sys):
    """Each daemon's program (None: phcsyncd) and arguments, phcsyncd's before '-f CONF'."""
    runs = {"phcsyncd": (None, ["-n"])}
    if phc2sys:
        # -O is slave minus master: CLOCK_REALTIME is behind a TAI PHC by TAI-UTC.
        offset = -scn.tai_utc if scn.tai else 0
        runs["phc2sys"] = (phc2sys, [*PHC2SYS_ARGS[:4], "-O", str(offset), *PHC2SYS_ARGS[4:]])
    return runs


def run(harness, work, scn, daemon, program, args):
    """One daemon on scn under phcsim: the finished phcsim.Run."""
    r = phcsim.run(harness, work, f"{scn.name}.{daemon}", scn.path, args=args,
                   conf_text=phcsyncd_conf(scn), with_conf=program is None, program=program,
                   timeout_s=120)
    if r.rc != 0:
        raise RuntimeError("exit %d: %s/%s.*\n%s" % (r.rc, work.path, r.label,
                                                      (r.stdout + r.stderr)[-2000:]))
    return r


class Path:
    """A piecewise-linear function of true time that may jump: points in time order, a
    jump being two points at the same time (the value before, then after)."""

    def __init__(self):
        self.t = []
        self.v = []

    def add(self, t, v):
        self.t.append(t)
        self.v.append(v)

    def left(self, t):
        i = bisect.bisect_left(self.t, t)
        return self._at(i, t) if i == len(self.t) or self.t[i] != t else self.v[i]

    def right(self, t):
        i = bisect.bisect_right(self.t, t)
        return self.v[i - 1] if i > 0 and self.t[i - 1] == t else self._at(i, t)

    def _at(self, i, t):
        if i == 0:
            return self.v[0]
        if i == len(self.t):
            return self.v[-1]
        t0, t1, v0, v1 = self.t[i - 1], self.t[i], self.v[i - 1], self.v[i]
        return v0 + (v1 - v0) * (t - t0) / (t1 - t0)


def figures(run, phc0):
    """RMS, max, sd (ns), lock time (s, from the start or the last scenario event before
    it; None: never), steps and reads/s from a run's trace.

    The error is CLOCK_REALTIME's true offset (tick records every second, and adj records
    at every adjustment, before and after a step) minus device 0's own error against true
    time (phc0: its initial offset in ns and frequency error in ppb, then its phc_step and
    phc_freq events), since no daemon can do better than its reference. Between records
    both change linearly, so RMS and sd are exact time averages whatever the phase of a
    daemon's polls against the ticks. Seconds while the guest is suspended are left out:
    nothing runs to see them.
    """
    sys_path, ref = Path(), Path()
    phc_off_ns, phc_ppb = phc0
    phc_t = 0.0
    ref.add(0.0, phc_off_ns)
    steps = 0
    asleep = None
    gaps = []
    events = [0.0]
    reads = 0
    end_t = 0.0
    for rec in run.records:
        kind = rec["type"]
        t = rec["t"]
        if kind == "tick":
            end_t, reads = t, rec["phc_reads"]
            if asleep is None:
                sys_path.add(t, rec["offset_ns"])
        elif kind == "adj":
            if "step_ns" in rec:
                steps += rec["step_ns"] != 0
                sys_path.add(t, rec["offset_ns"] - rec["step_ns"])
            sys_path.add(t, rec["offset_ns"])
        elif kind == "event":
            ev = rec["event"]
            events.append(t)
            if ev == "suspend":
                asleep = t
            elif ev == "resume":
                gaps.append((asleep, t))
                asleep = None
            elif ev in ("phc_step", "phc_freq") and rec["dev"] == 0:
                phc_off_ns += phc_ppb * (t - phc_t)
                phc_t = t
                ref.add(t, phc_off_ns)
                if ev == "phc_step":
                    phc_off_ns += rec["step_ns"]
                else:
                    phc_ppb = rec["freq_ppb"]
                ref.add(t, phc_off_ns)
    if not sys_path.t:
        raise RuntimeError("%s: no tick records" % run.label)
    ref.add(end_t, phc_off_ns + phc_ppb * (end_t - phc_t))

    times = sorted(set(sys_path.t) | set(ref.t))
    times = [t for t in times if t <= end_t]
    err = [(t, sys_path.left(t) - ref.left(t), sys_path.right(t) - ref.right(t))
           for t in times]
    # Scanning backwards: when the error is next >= 1 us from each point on.
    next_bad = [math.inf] * len(err)
    bad_t = math.inf
    for i in range(len(err) - 1, -1, -1):
        t, el, er = err[i]
        if abs(er) >= LOCK_NS:
            bad_t = t
        next_bad[i] = bad_t
        if abs(el) >= LOCK_NS:
            bad_t = t
    first = next((i for i, (t, el, _) in enumerate(err)
                  if abs(el) < LOCK_NS and next_bad[i] > t + SETTLE_S), None)
    lock = next((t for i, (t, el, _) in enumerate(err)
                 if abs(el) < LOCK_NS and next_bad[i] == math.inf), None)
    if lock is not None:
        lock -= max(e for e in events if e <= lock)
    window = err[first if first is not None else 0:]
    s1 = s2 = span = 0.0
    for (t0, _, e0), (t1, e1, _) in zip(window, window[1:]):
        if any(g0 < t1 and t0 < g1 for g0, g1 in gaps):
            continue
        dt = t1 - t0
        s1 += dt * (e0 + e1) / 2
        s2 += dt * (e0 * e0 + e0 * e1 + e1 * e1) / 3
        span += dt
    if span <= 0:
        raise RuntimeError("%s: too short to measure" % run.label)
    mean = s1 / span
    awake = end_t - sum(g1 - g0 for g0, g1 in gaps)
    return {
        "rms": math.sqrt(s2 / span),
        "max": max(max(abs(el), abs(er)) for _, el, er in window),
        "sd": math.sqrt(max(s2 / span - mean * mean, 0.0)),
        "lock": lock,
        "steps": steps,
        "reads": reads / awake if awake > 0 else 0.0,
        "locked": first is not None,
    }


def fmt_ns(v):
    """ns in the largest unit that still shows at least `least` after rounding."""
    for scale, fmt, least in ((1e9, "%.2f s", 1), (1e6, "%.2f ms", 1), (1e3, "%.1f us", 10)):
        text = fmt % (v / scale)
        if float(text.split()[0]) >= least:
            return text
    return "%.0f ns" % v


def fmt_ratio(a, b):
    if a is None or b is None:
        return "-"
    if b == 0:
        return "1.00" if a == 0 else "-"
    return "%.2f" % (a / b) if a / b >= 0.01 else "%.1e" % (a / b)


def rows_for(name, res):
    rows = []
    for d in DAEMONS:
        r = res.get(d)
        if r is None:
            continue
        mark = "" if r["locked"] else " *"
        rows.append([name, d, fmt_ns(r["rms"]) + mark, fmt_ns(r["max"]) + mark,
                     fmt_ns(r["sd"]) + mark,
                     "never" if r["lock"] is None else "%.1f s" % r["lock"],
                     str(r["steps"]), "%.1f" % r["reads"]])
    if len(res) == 2:
        a, b = res["phcsyncd"], res["phc2sys"]
        rows.append([name, "ratio"] +
                    [fmt_ratio(a[k], b[k]) for k in ("rms", "max", "sd", "lock", "steps",
                                                      "reads")])
    return rows


def print_table(rows, markdown):
    head = ["scenario", "daemon", "rms", "max", "sd", "lock", "steps", "reads/s"]
    if markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "|".join(["---"] * 2 + ["---:"] * (len(head) - 2)) + "|")
        for r in rows:
            print("| " + " | ".join(r) + " |")
        return
    widths = [max(len(x[i]) for x in [head] + rows) for i in range(len(head))]
    line = "  ".join("%-*s" if i < 2 else "%*s" for i in range(len(head)))
    print(line % tuple(v for p in zip(widths, head) for v in p))
    last = None
    for r in rows:
        if last is not None and r[0] != last:
            print()
        last = r[0]
        print(line % tuple(v for p in zip(widths, r) for v in p))


def main():
    args = parse_args()
    build = os.path.abspath(args.build)
    try:
        harness = phcsim.Harness(phcsim.build_env(build))
    except phcsim.HarnessError as e:
        sys.exit("bench: %s: build with 'ninja -C %s' or give --build" % (e, build))
    phc2sys = shutil.which("phc2sys", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")

    scns = []
    for f in sorted(os.listdir(SCENARIOS)):
        if f.endswith(".scn"):
            scn = Scenario(os.path.join(SCENARIOS, f))
            if not args.only or fnmatch.fnmatch(scn.name, args.only):
                scns.append(scn)
    if not scns:
        sys.exit("bench: no scenario matches %r in %s" % (args.only, SCENARIOS))

    work = phcsim.Workdir("bench", args.keep)
    try:
        rows = measure(harness, work, scns, phc2sys)
    finally:
        if not args.keep:
            work.remove()
    print(TITLE + ":")
    print()
    print_table(rows, args.markdown)
    print()
    print(NOTES)
    if any("*" in c for r in rows for c in r):
        print("- *: never below 1 us for 10 s; rms, max and sd are over the whole run.")
    if not phc2sys:
        print("- phc2sys is not installed: phcsyncd only.")

    scn = scns[0]
    print()
    print("Reproduce the %s rows (add --report for phcsim's own summary):" % scn.name)
    print("  printf %s > bench.conf" % shlex.quote(phcsyncd_conf(scn).replace("\n", "\\n")))
    for d, (program, dargs) in daemons(scn, phc2sys).items():
        conf = [] if program else ["-f", "bench.conf"]
        print("  " + shlex.join(harness.phcsim_argv(scn.path, "%s.%s.jsonl" % (scn.name, d),
                                                    dargs + conf, program=program)))


def measure(harness, work, scns, phc2sys):
    """Run every scenario under each daemon in work; the table's rows."""
    jobs = {}
    failed = False
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        for scn in scns:
            for d, (program, args) in daemons(scn, phc2sys).items():
                jobs[(scn.name, d)] = pool.submit(run, harness, work, scn, d, program, args)
        for (name, d), job in jobs.items():
            try:
                job.result()
            except (RuntimeError, phcsim.HarnessError) as e:
                print("bench: %s/%s: %s" % (name, d, e), file=sys.stderr)
                failed = True
    if failed:
        sys.exit(1)
    rows = []
    for scn in scns:
        res = {d: figures(jobs[(scn.name, d)].result(), scn.phc0)
               for d in DAEMONS if (scn.name, d) in jobs}
        rows += rows_for(scn.name, res)
    return rows


if __name__ == "__main__":
    main()
