#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Benchmark phcsyncd against linuxptp's phc2sys (PI and linreg servos) and chronyd under
the clock simulator.

Each scenario in scripts/scenarios/ runs once per peer under the same seed, through phcsim
only (it drops CAP_SYS_TIME and simulates every clock) by the e2e tests' harness
(tests/e2e/phcsim.py), and the figures come from the trace's true offsets of
CLOCK_REALTIME. NOTES below says how they are computed.

    scripts/bench.py [--build DIR] [--only NAME] [--peers LIST] [--budget default|1|both]
                     [--servo pi|kalman] [--phcsyncd-conf LINE]... [--chronyd PATH]
                     [--noise-sweep [--sweep-scenario NAME]] [--plot DIR]
                     [--markdown] [--keep DIR] [--jobs N]

chronyd is Debian's, unpacked by 'scripts/deps.sh --peers' (never installed); a peer that
is missing is left out with a note.
"""

import argparse
import bisect
import concurrent.futures
import fnmatch
import importlib.util
import math
import os
import shlex
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
sys.path.insert(0, HERE)
import phcsim  # noqa: E402 (found through the lines above)

try:
    import kalman_bound  # noqa: E402 (scripts/kalman_bound.py, when present)
except ImportError:
    kalman_bound = None

SCENARIOS = os.path.join(HERE, "scenarios")
LOCK_NS = 1000
# The figures start once the error has stayed below LOCK_NS for this long.
SETTLE_S = 10
# The profiles whose PHC keeps TAI unless the scenario says otherwise.
TAI_PROFILES = {"vmclock"}
# The profiles' readout methods and their default noise (tests/sim/sim_scenario.c):
# Gaussian noise of window reads, Gaussian noise of a cross-timestamp, delay, delay jitter.
PROFILES = {
    "kvm": ("basic,precise", 20, 20, 1500, 300),
    "vmw": ("basic", 50, 0, 3000, 1000),
    "hyperv": ("basic", 50, 0, 2000, 1000),
    "vmclock": ("basic,extended,precise", 10, 10, 200, 50),
    "ena": ("basic,extended", 100, 0, 5000, 2000),
}
PEERS = ("phcsyncd", "phc2sys", "phc2sys-linreg", "chronyd")
CHRONYD = os.path.join(os.environ.get("PHCSYNC_PEERS", "/var/cache/phcsync-peers"),
                       "chrony", "usr", "sbin", "chronyd")
# phc2sys 3.1.1 runs without ptp4l when the UTC offset is given (-O) and it is not told
# to wait for ptp4l (-w); -q keeps it out of syslog, -m prints to stdout.
PHC2SYS_ARGS = ["-s", "/dev/ptp0", "-c", "CLOCK_REALTIME", "-m", "-q"]
# Read noise per reading of the sweep (ns), a log grid from 10 ns to 100 us.
SWEEP_NS = (10, 30, 100, 300, 1000, 3000, 10000, 30000, 100000)
# The scenario events after which --plot zooms in.
ZOOM_EVENTS = ("phc_step", "suspend", "leap", "kernel_leap")
COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red")

TITLE = ("Error of CLOCK_REALTIME against the PHC's time, time-averaged from the first "
         "10 s below 1 us to the end of the run, event recoveries included")
SWEEP_TITLE = ("Noise sweep on %s: every readout method gets Gaussian noise of sigma X and "
               "one-sided noise of mean 1.5 X per reading; time sigma (scatter of the error "
               "about its mean) and frequency sigma of CLOCK_REALTIME, over the second half "
               "of the run")
NOTES = """\
- error: CLOCK_REALTIME minus the time the PHC gives (true UTC plus the PHC's own jumps:
  following the PHC is the best a daemon can do), from the trace's true offsets at every
  tick (1/s) and clock adjustment, linear in between; so the figures are time averages,
  whatever the phase of a daemon's polls against the ticks.
- σ: the scatter of the error about its mean (its standard deviation); mean: the bias,
  which includes the one-sided read noise no daemon can observe; rms: both together; max:
  the largest |error|. All from the first moment the error stays below 1 us for 10 s to
  the end of the run, so the recovery from every mid-run event counts: that is what users
  feel. Seconds while the guest is suspended are left out (nothing runs to see them).
- lock: how long until the error stays below 1 us to the end of the run ("never" if it
  does not), counted from the start, or from the scenario event (jump, leap, resume)
  before that moment: the time to recover. On the noisier devices the noise tail crosses
  1 us now and then, so there lock is the last such excursion.
- steps: clock steps (adj records with step_ns != 0); reads/s: PHC reads per second awake
  (one per cross-timestamp, one per sample of a multi-sample read).
- σ/bound: σ over the optimal two-state (offset, frequency) Kalman filter's
  steady-state time error for the scenario's noise and that peer's reads/s (each peer
  updates once a second, so its reads per update are its reads/s); from
  scripts/kalman_bound.py, "-" without it or on an event scenario.
- Peers: phcsyncd (by default servo kalman, burst_combine trimmed, readings 10,
  poll_interval 1); phc2sys with its PI servo and with -E linreg (-N 5 -R 1 -O 0);
  chronyd 4.3 (refclock PHC /dev/ptp0 poll 0 dpoll -2,
  leapsectz right/UTC, makestep 1 3). With PTP_SYS_OFFSET_PRECISE (kvm, vmclock) phc2sys
  reads once per update whatever -N says, and chronyd reads once per dpoll; on the other
  devices chronyd takes 25 samples (PTP_MAX_SAMPLES) at each of its 4 readings a second
  and keeps the fastest of them, so it reads 10 to 20 times as often as the others.
- At the 1 read/s budget: phcsyncd readings 1, phc2sys -N 1 -R 1, chronyd dpoll 0 (one
  reading a second, still 25 samples each on a device without cross-timestamps).
- phcsyncd's leap table is its default (leapfile auto: the host's tzdata) and chronyd's is
  right/UTC; phc2sys without ptp4l knows of no leap second. A kernel that inserts the
  leap does so at REALTIME's midnight, which differs from UTC's by the error itself: the
  trace cannot say when in between, so that sliver counts as after the leap.
- Noise (tests/sim/README.md): the steady scenarios give every readout method, PRECISE
  included, 100 ns Gaussian plus 150 ns one-sided (exponential, the PHC reads late) noise,
  one reading in 1000 off by +-5 us, and on window reads a sampling point spread over
  part of the window, so a long read errs more. The start, jump, leap and suspend
  scenarios keep the older shape: window reads as above without outliers or spread,
  PRECISE 100 ns Gaussian only."""


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--build", default=os.path.join(REPO, "build"),
                   help="meson build directory (default: %(default)s)")
    p.add_argument("--only", metavar="NAME",
                   help="run only the scenarios whose name matches (shell pattern)")
    p.add_argument("--peers", default=",".join(PEERS),
                   help="comma-separated peers to run (default: %(default)s)")
    p.add_argument("--budget", choices=("default", "1", "both"), default="default",
                   help="read budget: each peer's default, 1 read/s, or both tables")
    p.add_argument("--servo", choices=("pi", "kalman"),
                   help="phcsyncd's servo (a 'servo' line in its configuration)")
    p.add_argument("--phcsyncd-conf", metavar="LINE", action="append", default=[],
                   help="a configuration line for phcsyncd (repeatable)")
    p.add_argument("--chronyd", default=os.environ.get("PHCSYNC_CHRONYD", CHRONYD),
                   help="chronyd to run under the simulator (default: %(default)s)")
    p.add_argument("--noise-sweep", action="store_true",
                   help="sweep the read noise from 10 ns to 100 us instead of the scenarios")
    p.add_argument("--sweep-scenario", default="steady-kvm", metavar="NAME",
                   help="the scenario the sweep varies (default: %(default)s)")
    p.add_argument("--plot", metavar="DIR",
                   help="write PNG plots of each peer's error to DIR (python3-matplotlib)")
    p.add_argument("--markdown", action="store_true", help="print GitHub markdown tables")
    p.add_argument("--keep", metavar="DIR", help="keep traces, configs and logs in DIR")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 2,
                   help="runs at a time (default: %(default)s)")
    return p.parse_args()


UNIT_NS = {"ns": 1, "us": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9,
           "h": 3600 * 10**9, "d": 86400 * 10**9}


def time_ns(text):
    """A scenario time ("+20ms", "1.5s", "3") in ns."""
    for unit in sorted(UNIT_NS, key=len, reverse=True):
        if text.endswith(unit):
            return float(text[:-len(unit)]) * UNIT_NS[unit]
    return float(text) * UNIT_NS["s"]


# Device 0's keys that the bound and the sweep read, as times (ns) or plain numbers.
NOISE_TIME_KEYS = ("noise", "noise_exp", "precise_noise", "precise_noise_exp", "outlier",
                   "precise_outlier", "delay", "delay_jitter")
NOISE_NUM_KEYS = ("outlier_prob", "precise_outlier_prob", "window_spread", "asymmetry")


class Scenario:
    """What the benchmark needs from a scenario file: its name, whether device 0 keeps
    TAI, TAI-UTC, device 0's own initial offset (ns) and frequency error (ppb), its
    noise (dev0) and whether anything happens mid-run (events)."""

    def __init__(self, path, text=None):
        self.path = path
        self.name = os.path.splitext(os.path.basename(path))[0]
        self.tai_utc = 37
        self.phc0 = (0.0, 0.0)
        self.rw_ppb = 0.0
        self.events = False
        self.dev0 = {}
        profile = None
        timescale = None
        in_dev0 = False
        self.phcsyncd_extra = []
        if text is None:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        self.text = text
        for line in text.splitlines():
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
            elif key == "sys_random_walk_ppb":
                self.rw_ppb = float(value)
            elif key in ("at", "leap"):
                self.events = True
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
            elif in_dev0 and key in NOISE_TIME_KEYS:
                self.dev0[key] = time_ns(value)
            elif in_dev0 and key in NOISE_NUM_KEYS:
                self.dev0[key] = float(value)
            elif in_dev0 and key == "ops":
                self.dev0["ops"] = value
        if timescale is None:
            timescale = "tai" if profile in TAI_PROFILES else "utc"
        self.tai = timescale == "tai"
        self.profile = profile
        ops, noise, pnoise, delay, jitter = PROFILES.get(profile, ("basic", 0, 0, 0, 0))
        defaults = {"ops": ops, "noise": noise, "precise_noise": pnoise, "delay": delay,
                    "delay_jitter": jitter, "asymmetry": 0.5}
        self.dev0 = {**{k: 0.0 for k in NOISE_TIME_KEYS + NOISE_NUM_KEYS}, **defaults,
                     **self.dev0}

    def bound_input(self, reads_per_s):
        """The dict scripts/kalman_bound.py's bound_ns() takes, at reads_per_s."""
        d = dict(self.dev0)
        d.update(profile=self.profile, precise="precise" in d["ops"].split(","),
                 sys_random_walk_ppb=self.rw_ppb, reads_per_s=reads_per_s,
                 burst=max(1, round(reads_per_s)))
        # kalman_bound takes the noise that grows with the window as noise_window x
        # delay_jitter (ns of sigma); the simulator's window_spread X samples the PHC
        # uniformly over X of a window W = delay + Exp(delay_jitter): sigma X sqrt(E[W^2]/12).
        if d["window_spread"] and d["delay_jitter"]:
            dl, j = d["delay"], d["delay_jitter"]
            sigma = d["window_spread"] * math.sqrt((dl * dl + 2 * dl * j + 2 * j * j) / 12)
            d["noise_window"] = sigma / j
        return d


def sweep_text(base, noise_ns):
    """base's scenario text with device 0's read noise set to noise_ns (Gaussian sigma) plus
    1.5 noise_ns one-sided on every readout method, named after the level."""
    keep = []
    for line in base.text.splitlines():
        key = line.split("#", 1)[0].split()[:1]
        if key and key[0] in ("noise", "noise_exp", "precise_noise", "precise_noise_exp",
                              "name"):
            continue
        keep.append(line)
    exp = 1.5 * noise_ns
    return "\n".join(keep + ["name %s-noise-%s" % (base.name, fmt_level(noise_ns)),
                             "noise %dns" % noise_ns, "noise_exp %dns" % exp,
                             "precise_noise %dns" % noise_ns,
                             "precise_noise_exp %dns" % exp]) + "\n"


def fmt_level(ns):
    return "%dns" % ns if ns < 1000 else "%dus" % (ns // 1000)


def phcsyncd_conf(scn, opts, budget):
    """phcsyncd's defaults plus what the scenario, the budget and the options need."""
    # The time scale explicitly: phcsyncd would guess TAI from a vmclock's name.
    lines = ["device /dev/ptp0", "control_socket none",
             "timescale " + ("tai" if scn.tai else "utc")]
    if scn.tai:
        lines.append("utc_offset %d" % scn.tai_utc)
    lines += scn.phcsyncd_extra
    if budget == "1":
        lines.append("readings 1")
    if opts.servo:
        lines.append("servo " + opts.servo)
    lines += opts.phcsyncd_conf
    # A key is given once: a later line (the options over the scenario's) wins.
    last = {line.split()[0]: i for i, line in enumerate(lines) if line.split()}
    return "".join(line + "\n" for i, line in enumerate(lines)
                   if line.split() and last[line.split()[0]] == i)


def chronyd_conf(scn, budget, pidfile):
    """chronyd's configuration: the PHC as its only source, nothing of the system's
    touched (no command port or socket, no NTP port, its own pidfile)."""
    dpoll = "0" if budget == "1" else "-2"
    return ("refclock PHC /dev/ptp0 poll 0 dpoll %s%s\n" % (dpoll, " tai" if scn.tai else "") +
            "leapsectz right/UTC\nmakestep 1 3\ncmdport 0\nbindcmdaddress /\nport 0\n"
            "pidfile %s\n" % pidfile)


def peer_runs(scn, opts, budget, tools):
    """Each available peer's (program (None: phcsyncd), arguments, configuration text or
    None, whether the configuration goes after '-f')."""
    runs = {}
    if "phcsyncd" in opts.peer_list:
        runs["phcsyncd"] = (None, ["-n"], phcsyncd_conf(scn, opts, budget))
    rate = ["-N", "1", "-R", "1"] if budget == "1" else []
    # -O is slave minus master: CLOCK_REALTIME is behind a TAI PHC by TAI-UTC.
    offset = -scn.tai_utc if scn.tai else 0
    base = [*PHC2SYS_ARGS[:4], "-O", str(offset), *rate, *PHC2SYS_ARGS[4:]]
    if tools.get("phc2sys"):
        if "phc2sys" in opts.peer_list:
            runs["phc2sys"] = (tools["phc2sys"], base, None)
        if "phc2sys-linreg" in opts.peer_list:
            runs["phc2sys-linreg"] = (tools["phc2sys"], base + ["-E", "linreg"], None)
    if tools.get("chronyd") and "chronyd" in opts.peer_list:
        # -d: foreground, log to stderr; -u root: no switch to a user; -F 0: no seccomp
        # filter (the simulator's library makes calls chronyd's filter does not expect).
        # Never -x: chronyd is to steer the simulated clock.
        runs["chronyd"] = (tools["chronyd"], ["-d", "-u", "root", "-F", "0"], "chronyd")
    return runs


def run(harness, work, scn, label, program, args, conf, budget):
    """One peer on scn under phcsim: the finished phcsim.Run."""
    if conf == "chronyd":
        conf = chronyd_conf(scn, budget, os.path.join(work.path, label + ".pid"))
        args = args + ["-f", work.file(label + ".chrony.conf", conf)]
        with_conf = False
    else:
        with_conf = program is None
    r = phcsim.run(harness, work, label, scn.path, args=args, conf_text=conf or "",
                   with_conf=with_conf, program=program, timeout_s=300)
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


def figures(run, phc0, second_half=False):
    """sd, mean, RMS, max (ns), lock time (s, from the start or the last scenario event
    before it; None: never), steps, reads/s, the frequency's sd (ppb), the error series
    and the events' times from a run's trace.

    The error is CLOCK_REALTIME's true offset (tick records every second, and adj records
    at every adjustment, before and after a step) minus device 0's own error against true
    time (phc0: its initial offset in ns and frequency error in ppb, then its phc_step and
    phc_freq events), since no daemon can do better than its reference. Between records
    both change linearly, so the figures are exact time averages whatever the phase of a
    daemon's polls against the ticks. Seconds while the guest is suspended are left out:
    nothing runs to see them. The window is from lock (the error below 1 us for 10 s) to
    the end, or with second_half the second half of the run.
    """
    sys_path, ref = Path(), Path()
    phc_off_ns, phc_ppb = phc0
    phc_t = 0.0
    ref.add(0.0, phc_off_ns)
    steps = 0
    asleep = None
    gaps = []
    events = [0.0]
    marks = []
    freqs = []
    steered = []
    reads = 0
    end_t = 0.0
    leap_at = None
    for rec in run.records:
        kind = rec["type"]
        t = rec["t"]
        if kind == "tick":
            end_t, reads = t, rec["phc_reads"]
            if asleep is None:
                sys_path.add(t, rec["offset_ns"])
                freqs.append((t, rec["freq_ppb"]))
        elif kind == "adj":
            if "freq_ppb" in rec or "step_ns" in rec:
                steered.append(t)
            if "step_ns" in rec:
                steps += rec["step_ns"] != 0
                sys_path.add(t, rec["offset_ns"] - rec["step_ns"])
            sys_path.add(t, rec["offset_ns"])
        elif kind == "kernel_leap":
            # True UTC repeats (skips) a second at its midnight, and the kernel inserts
            # (deletes) one at REALTIME's, which is later or earlier by the error itself;
            # the trace writes kernel_leap at the end of the simulator's time step, so it
            # does not say when in between. The records between the two that still show
            # the whole second are counted as after the kernel's leap.
            marks.append((t, "leap"))
            if leap_at is not None:
                for i in range(leap_at, len(sys_path.v)):
                    if sys_path.v[i] * rec["sign"] > 0.5e9:
                        sys_path.v[i] -= rec["sign"] * 1e9
                leap_at = None
        elif kind == "event":
            ev = rec["event"]
            events.append(t)
            marks.append((t, ev))
            if ev == "leap":
                leap_at = len(sys_path.v)
            elif ev == "suspend":
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
    if second_half:
        start = bisect.bisect_left([t for t, _, _ in err], end_t / 2)
    else:
        start = first if first is not None else 0
    window = err[start:]
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
    fwin = [f for t, f in freqs if t >= (end_t / 2 if second_half else window[0][0])]
    fmean = sum(fwin) / len(fwin) if fwin else 0.0
    return {
        "sd": math.sqrt(max(s2 / span - mean * mean, 0.0)),
        "mean": mean,
        "rms": math.sqrt(s2 / span),
        "max": max(max(abs(el), abs(er)) for _, el, er in window),
        "lock": lock,
        "steps": steps,
        "reads": reads / awake if awake > 0 else 0.0,
        "fsd": math.sqrt(sum((f - fmean) ** 2 for f in fwin) / len(fwin)) if fwin else 0.0,
        "locked": first is not None,
        "idle": not any(t >= window[0][0] for t in steered),
        "series": [(t, er) for t, _, er in err],
        "marks": marks,
        "gaps": gaps,
    }


def fmt_ns(v):
    """ns in the largest unit that still shows at least `least` after rounding; signed."""
    for scale, fmt, least in ((1e9, "%.2f s", 1), (1e6, "%.2f ms", 1), (1e3, "%.1f us", 10)):
        text = fmt % (v / scale)
        if abs(float(text.split()[0])) >= least:
            return text
    return "%.0f ns" % v


def bound_ns(scn, reads_per_s):
    """The optimal bound for scn at reads_per_s, or None (no module, an event scenario,
    or the module's own refusal)."""
    if kalman_bound is None or scn.events:
        return None
    try:
        b = kalman_bound.bound_ns(scn.bound_input(reads_per_s))
    except Exception as e:  # the module is another's: report, do not fail the bench
        print("bench: kalman_bound on %s: %s" % (scn.name, e), file=sys.stderr)
        return None
    return b if b and b > 0 else None


def rows_for(scn, res):
    rows = []
    for d in PEERS:
        r = res.get(d)
        if r is None:
            continue
        mark = "" if r["locked"] else " *"
        b = bound_ns(scn, r["reads"])
        rows.append([scn.name, d, fmt_ns(r["sd"]) + mark, fmt_ns(r["mean"]) + mark,
                     fmt_ns(r["rms"]) + mark, fmt_ns(r["max"]) + mark,
                     "never" if r["lock"] is None else "%.1f s" % r["lock"],
                     str(r["steps"]), "%.1f" % r["reads"],
                     "-" if b is None else "%.2f" % (r["sd"] / b)])
    return rows


def print_table(head, rows, markdown, left=2, group=True):
    if markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "|".join(["---"] * left + ["---:"] * (len(head) - left)) + "|")
        for r in rows:
            print("| " + " | ".join(r) + " |")
        return
    widths = [max(len(x[i]) for x in [head] + rows) for i in range(len(head))]
    line = "  ".join("%-*s" if i < left else "%*s" for i in range(len(head)))
    print(line % tuple(v for p in zip(widths, head) for v in p))
    last = None
    for r in rows:
        if group and last is not None and r[0] != last:
            print()
        last = r[0]
        print(line % tuple(v for p in zip(widths, r) for v in p))


def find_tools(opts):
    """The peers' programs that exist here, and a note for each that does not."""
    tools, notes = {}, []
    phc2sys = shutil.which("phc2sys", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
    if phc2sys:
        tools["phc2sys"] = phc2sys
    elif {"phc2sys", "phc2sys-linreg"} & set(opts.peer_list):
        notes.append("- phc2sys is not installed (Debian's linuxptp): left out.")
    if os.access(opts.chronyd, os.X_OK) and os.path.exists("/usr/share/zoneinfo/right/UTC"):
        tools["chronyd"] = opts.chronyd
    elif "chronyd" in opts.peer_list:
        notes.append("- no %s (scripts/deps.sh --peers unpacks it) or no right/UTC "
                     "(tzdata): chronyd left out." % opts.chronyd)
    return tools, notes


def measure(harness, work, jobs_spec, jobs_n, second_half=False):
    """Run every (key, scn, label, program, args, conf, budget) in work; figures by key."""
    jobs = {}
    failed = False
    with concurrent.futures.ThreadPoolExecutor(max(1, jobs_n)) as pool:
        for key, scn, label, program, args, conf, budget in jobs_spec:
            jobs[key] = (scn, pool.submit(run, harness, work, scn, label, program, args,
                                          conf, budget))
        for key, (scn, job) in jobs.items():
            try:
                job.result()
            except (RuntimeError, phcsim.HarnessError) as e:
                print("bench: %s: %s" % ("/".join(key), e), file=sys.stderr)
                failed = True
    if failed:
        sys.exit(1)
    return {key: figures(job.result(), scn.phc0, second_half)
            for key, (scn, job) in jobs.items()}


def scenario_jobs(scns, opts, budget, tools):
    spec = []
    for scn in scns:
        for d, (program, args, conf) in peer_runs(scn, opts, budget, tools).items():
            spec.append(((budget, scn.name, d), scn, "%s.%s.b%s" % (scn.name, d, budget),
                         program, args, conf, budget))
    return spec


def bench_tables(harness, work, scns, opts, tools):
    budgets = ("default", "1") if opts.budget == "both" else (opts.budget,)
    spec = [j for b in budgets for j in scenario_jobs(scns, opts, b, tools)]
    res = measure(harness, work, spec, opts.jobs)
    head = ["scenario", "peer", "σ", "mean", "rms", "max", "lock", "steps", "reads/s",
            "σ/bound"]
    for b in budgets:
        print(TITLE + (", each peer at its default read rate:" if b == "default"
                       else ", every peer at 1 read/s:"))
        print()
        rows = []
        for scn in scns:
            rows += rows_for(scn, {d: res[(b, scn.name, d)] for d in PEERS
                                   if (b, scn.name, d) in res})
        print_table(head, rows, opts.markdown)
        print()
    return res, budgets


def noise_sweep(harness, work, opts, tools):
    path = os.path.join(SCENARIOS, next((f for f in sorted(os.listdir(SCENARIOS))
                                         if f.endswith(".scn") and
                                         Scenario(os.path.join(SCENARIOS, f)).name ==
                                         opts.sweep_scenario), ""))
    if not os.path.isfile(path):
        sys.exit("bench: no scenario named %r in %s" % (opts.sweep_scenario, SCENARIOS))
    base = Scenario(path)
    budgets = ("default", "1") if opts.budget == "both" else (opts.budget,)
    spec, scns = [], {}
    for level in SWEEP_NS:
        text = sweep_text(base, level)
        name = "%s-noise-%s" % (base.name, fmt_level(level))
        scn = Scenario(work.file(name + ".scn", text), text)
        scns[level] = scn
        for b in budgets:
            for d, (program, args, conf) in peer_runs(scn, opts, b, tools).items():
                spec.append(((b, str(level), d), scn, "%s.%s.b%s" % (name, d, b), program,
                             args, conf, b))
    res = measure(harness, work, spec, opts.jobs, second_half=True)
    peers = [d for d in PEERS if any(k[2] == d for k in res)]
    for b in budgets:
        print(SWEEP_TITLE % base.name + (", each peer at its default read rate:"
                                         if b == "default" else ", every peer at 1 read/s:"))
        print()
        head = ["noise"] + ["%s %s" % (d, q) for d in peers for q in ("σ", "ppm")]
        rows = []
        for level in SWEEP_NS:
            row = [fmt_level(level)]
            for d in peers:
                r = res.get((b, str(level), d))
                idle = " !" if r is not None and r["idle"] else ""
                row += ["-", "-"] if r is None else [fmt_ns(r["sd"]) + idle,
                                                     "%.3f" % (r["fsd"] / 1e3) + idle]
            rows.append(row)
        print_table(head, rows, opts.markdown, left=1, group=False)
        print()
    print("- σ: the error's scatter about its mean over the second half of each run; "
          "ppm: the\n  scatter of CLOCK_REALTIME's frequency error (tick records, once a "
          "second) there.\n- The base scenario's other settings (outliers, window spread, "
          "oscillator) stay as they are.")
    if any(r["idle"] for r in res.values()):
        print("- !: the peer made no frequency adjustment or step in the second half: it "
              "stopped\n  steering (its log, kept with --keep, says why).")
    return res, budgets


def plot(opts, scns, res, budgets):
    """Each peer's error over time per scenario; for scenarios with events, a zoom on the
    first 40 s after each."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    os.makedirs(opts.plot, exist_ok=True)
    written = []
    for b in budgets:
        for scn in scns:
            runs = [(d, res[(b, scn.name, d)]) for d in PEERS if (b, scn.name, d) in res]
            if not runs:
                continue
            suffix = "" if b == "default" else "-1read"
            # One panel per peer, on one scale: overlaid, an hour of noise hides them.
            fig, axes = plt.subplots(len(runs), 1, figsize=(10, 1.2 + 1.6 * len(runs)),
                                     sharex=True, sharey=True, squeeze=False)
            settled = [abs(e) for _, r in runs for x, e in r["series"] if x > 60]
            lim = sorted(settled)[int(0.99 * (len(settled) - 1))] * 1.5 / 1e3 \
                if settled else None
            for (d, r), ax, color in zip(runs, axes[:, 0], COLORS):
                ax.plot([x for x, _ in r["series"]], [e / 1e3 for _, e in r["series"]],
                        lw=0.5, color=color)
                ax.set_title("%s: σ %s, mean %s, max %s" % (
                    d, fmt_ns(r["sd"]), fmt_ns(r["mean"]), fmt_ns(r["max"])),
                    fontsize="small", loc="left")
                ax.grid(alpha=0.3)
                if lim:
                    ax.set_ylim(-lim, lim)
            axes[-1, 0].set_xlabel("true time (s)")
            fig.supylabel("error of CLOCK_REALTIME (us)")
            fig.suptitle("%s%s: error against the PHC (clipped to 1.5 x its 99th "
                         "percentile)" % (scn.name, suffix))
            fig.tight_layout()
            path = os.path.join(opts.plot, "%s%s.png" % (scn.name, suffix))
            fig.savefig(path, dpi=100)
            plt.close(fig)
            written.append(path)
            marks = [(t, ev) for t, ev in runs[0][1]["marks"] if ev in ZOOM_EVENTS]
            seen = set()
            for t0, ev in marks:
                if ev in seen:
                    continue
                seen.add(ev)
                fig, ax = plt.subplots(figsize=(10, 4))
                for (d, r), color in zip(runs, COLORS):
                    pts = [(x, e) for x, e in r["series"] if t0 - 5 <= x <= t0 + 40]
                    ax.plot([x - t0 for x, _ in pts], [e / 1e6 for _, e in pts], lw=0.8,
                            marker=".", ms=2, label=d, color=color)
                ax.axvline(0, color="grey", lw=0.5)
                ax.set_xlabel("seconds from the %s" % ev)
                ax.set_ylabel("error of CLOCK_REALTIME (ms)")
                ax.set_title("%s%s: the %s" % (scn.name, suffix, ev))
                ax.legend(loc="upper right", fontsize="small")
                ax.grid(alpha=0.3)
                fig.tight_layout()
                path = os.path.join(opts.plot, "%s%s-%s.png" % (scn.name, suffix, ev))
                fig.savefig(path, dpi=100)
                plt.close(fig)
                written.append(path)
    print("- plots: " + ", ".join(written))


def ensure_matplotlib():
    """With --plot, matplotlib from Debian's python3-matplotlib: when this interpreter
    lacks it (a private Python first in PATH), run again under /usr/bin/python3."""
    if importlib.util.find_spec("matplotlib") is None:
        system = "/usr/bin/python3"
        if os.path.realpath(sys.executable) != os.path.realpath(system) and \
                os.access(system, os.X_OK):
            os.execv(system, [system, os.path.abspath(__file__)] + sys.argv[1:])
        sys.exit("bench: --plot needs python3-matplotlib (scripts/deps.sh)")


def main():
    opts = parse_args()
    if opts.plot:
        ensure_matplotlib()
    opts.peer_list = [p for p in opts.peers.split(",") if p]
    unknown = set(opts.peer_list) - set(PEERS)
    if unknown:
        sys.exit("bench: unknown peer %s (%s)" % (", ".join(sorted(unknown)), ", ".join(PEERS)))
    build = os.path.abspath(opts.build)
    try:
        harness = phcsim.Harness(phcsim.build_env(build))
    except phcsim.HarnessError as e:
        sys.exit("bench: %s: build with 'ninja -C %s' or give --build" % (e, build))
    tools, notes = find_tools(opts)

    work = phcsim.Workdir("bench", opts.keep)
    try:
        if opts.noise_sweep:
            noise_sweep(harness, work, opts, tools)
            for n in notes:
                print(n)
            return
        scns = []
        for f in sorted(os.listdir(SCENARIOS)):
            if f.endswith(".scn"):
                scn = Scenario(os.path.join(SCENARIOS, f))
                if not opts.only or fnmatch.fnmatch(scn.name, opts.only):
                    scns.append(scn)
        if not scns:
            sys.exit("bench: no scenario matches %r in %s" % (opts.only, SCENARIOS))
        res, budgets = bench_tables(harness, work, scns, opts, tools)
        print(NOTES)
        extra = [line for line in opts.phcsyncd_conf] + \
            (["servo " + opts.servo] if opts.servo else [])
        if extra:
            print("- phcsyncd here also has: " + "; ".join(extra) + ".")
        if any(not r["locked"] for r in res.values()):
            print("- *: never below 1 us for 10 s; the figures are over the whole run.")
        if kalman_bound is None:
            print("- scripts/kalman_bound.py is absent: no bound.")
        for n in notes:
            print(n)
        if opts.plot:
            plot(opts, scns, res, budgets)
        reproduce(harness, scns[0], opts, tools, budgets[0])
    finally:
        if not opts.keep:
            work.remove()


def reproduce(harness, scn, opts, tools, budget):
    print()
    print("Reproduce the %s rows (add --report for phcsim's own summary):" % scn.name)
    for d, (program, dargs, conf) in peer_runs(scn, opts, budget, tools).items():
        if conf == "chronyd":
            text = chronyd_conf(scn, budget, "chronyd.pid")
            print("  printf %s > chrony.conf" % shlex.quote(text.replace("\n", "\\n")))
            dargs = dargs + ["-f", "chrony.conf"]
        elif program is None:
            print("  printf %s > bench.conf" % shlex.quote(conf.replace("\n", "\\n")))
            dargs = dargs + ["-f", "bench.conf"]
        print("  " + shlex.join(harness.phcsim_argv(scn.path, "%s.%s.jsonl" % (scn.name, d),
                                                    dargs, program=program)))


if __name__ == "__main__":
    main()
