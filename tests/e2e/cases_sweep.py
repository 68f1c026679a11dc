# SPDX-License-Identifier: BSD-2-Clause
"""The sweep (issue 10): start offsets and PHC jumps on a log grid from 1 us to 1 day, both
signs, four step policies, five driver profiles, five guest oscillator errors. Every run
is checked against its class's bound and against invariants.py.

CI runs a covering subset in SHARDS cases (sweep-0 ...): every magnitude x sign x kind x
policy on three (profile, oscillator) pairs, the pairs rotating along the list so that
each of the 25 meets some 23 points (576 runs of the 4800). scripts/sweep.py runs the
whole product.

A run: KVM-like guest whose oscillator is off by OSC ppm (plus a 1 ppb/sqrt(s) random
walk), one PHC of the profile; either CLOCK_REALTIME starts X off (`sys_offset`, kind
start), or the PHC jumps by X at JUMP_AT_S once the clock is locked (kind jump).
Configuration: `device /dev/ptp0`, `rtcsync yes` (so STA_UNSYNC is clear exactly while
the daemon claims a lock) and the policy's keys; nothing else.

Classes and their bounds (T: seconds from the event, the start or the jump):
- panic, |X| beyond max_offset_panic: exactly one log line /max_offset_panic/, no step,
  and the clock not moved (start: no frequency change at all; jump: the true offset
  against UTC moves by <= PANIC_DRIFT_NS over the run, the held frequency being good
  to ppb).
- step, |X| beyond first_step_threshold (start) or above the disruption threshold and
  step_threshold (jump): one step, at T <= STEP_AT_S (the second sample at ~1 s, or the
  next poll plus two quick polls 0.1 s apart), of -X within STEP_TOL_NS (plus the
  oscillator's drift until then for a start), then |error| < 1 us for good within
  LOCK_AFTER_STEP_S of it.
- pi, |X| below first_step_threshold (start) or the disruption threshold (jump, ~100 us):
  no step; the PI servo (kp 0.7, ki 0.3) shrinks the error by sqrt(1 - kp) = 0.55 a poll,
  so |X| -> 1 us takes ln(|X| / 1 us) / 0.6 polls; twice that plus LOCK_BOUND_S.
- slew, no step allowed (thresholds 0, or a disruption below step_threshold): no step;
  while |error| > SLEW_FAST_NS every tick takes >= SLEW_MIN_RATE (8 %: the kernel's
  tick range gives 10 %, the oscillator's 500 ppm takes 0.05 %) off it, and |error|
  never grows by more than 1 % of |X| or 1 us between ticks (a PI tail's overshoot, the
  noise); converged by |X| / 0.09 s + the pi bound of min(|X|, 0.1 s). Beyond
  SLEW_FULL_MAX_S a slew cannot finish in a test: the rate is checked over
  SLEW_RATE_WINDOW_S instead.
- A magnitude within BOUNDARY of a threshold (100 us against the ~100 us disruption
  threshold, 10 ms against step_threshold 0.01, 1000 s and 1 day against max_offset_panic)
  or a start offset whose first samples straddle first_step_threshold (the oscillator
  moves it by OSC us in the first second) may take either side: the class of the side
  taken is checked in full.
Every run also keeps invariants.py's (1)-(3) against the PHC's time.
"""

import itertools
import math
import os

import invariants
from checks import LOCK_BOUND_S, MS, S, US, case

GRID = [("1us", 1 * US), ("10us", 10 * US), ("100us", 100 * US), ("1ms", 1 * MS),
        ("10ms", 10 * MS), ("100ms", 100 * MS), ("1s", 1 * S), ("10s", 10 * S),
        ("100s", 100 * S), ("1000s", 1000 * S), ("1e4s", 10000 * S), ("1d", 86400 * S)]
SIGNS = (1, -1)
KINDS = ("start", "jump")
# name: (config lines, first_step_threshold s, step_threshold s, max_offset_panic s)
POLICIES = {
    "default": ([], 20e-6, 0.128, 86400),
    "st0": (["step_threshold 0"], 20e-6, 0, 86400),
    "pure": (["first_step_threshold 0", "step_threshold 0"], 0, 0, 86400),
    "custom": (["step_threshold 0.01", "max_offset_panic 1000"], 20e-6, 0.01, 1000),
}
PROFILES = ("kvm", "vmw", "hyperv", "vmclock", "ena")
OSC_PPM = (0, 100, -100, 500, -500)
PAIRS = list(itertools.product(PROFILES, OSC_PPM))

JUMP_AT_S = 30
# Simulated seconds after the event, and after the slew's own time.
SETTLE_S = 90
# The disruption threshold of the daemon (phcsyncd.conf(5): ~100 us beyond the noise).
DISRUPTION_NS = 100 * US
BOUNDARY = 0.01
LOCK_NS = 1000
STEP_AT_S = 2.5
STEP_TOL_NS = 10 * US
LOCK_AFTER_STEP_S = LOCK_BOUND_S
PI_POLE = math.sqrt(1 - 0.7)
SLEW_MAX_RATE = 0.09
SLEW_MIN_RATE = 0.08
SLEW_FAST_NS = 200 * MS
SLEW_SETTLE_S = 2.0
# A PI tail with complex poles overshoots by a fraction of a percent; noise lifts a tick
# by a few sigmas. More than that is the slew overshooting.
SLEW_GROWTH_NS = 1000
SLEW_GROWTH_FRACTION = 0.01
SLEW_FULL_MAX_S = 1000
SLEW_RATE_WINDOW_S = 600
PANIC_DRIFT_NS = 1 * MS
SHARDS = 4
CI_PAIRS = 3
# A run's start-up, in simulated seconds of the same real cost (shard balance only).
RUN_COST_S = 600


class Point:
    """One run of the sweep."""

    def __init__(self, kind, policy, sign, mag, profile, osc):
        self.kind, self.policy, self.sign, self.profile, self.osc = \
            kind, policy, sign, profile, osc
        self.mag_name, mag_ns = mag
        self.x_ns = sign * mag_ns
        self.conf, self.fs_s, self.st_s, self.panic_s = POLICIES[policy]
        self.id = f"{kind}-{policy}-{'+' if sign > 0 else '-'}{self.mag_name}-{profile}" \
                  f"-osc{osc:+d}"
        self.classes = classify(self)
        self.event_t = JUMP_AT_S if kind == "jump" else 0
        self.duration_s = self.event_t + SETTLE_S
        if "slew" in self.classes:
            slew_s = abs(self.x_ns) / S / SLEW_MAX_RATE
            self.duration_s += SLEW_RATE_WINDOW_S if self.rate_only() else slew_s

    def x_eff(self):
        """|X| as the daemon must correct it: a start offset grows by the oscillator's
        error (OSC us a second) while the first samples are taken."""
        if self.kind == "jump":
            return abs(self.x_ns)
        return max(abs(self.x_ns), abs(self.x_ns + self.osc * 1000))

    def rate_only(self):
        return abs(self.x_ns) > SLEW_FULL_MAX_S * S

    def seed(self):
        return 1 + sum(ord(c) * (i + 1) for i, c in enumerate(self.id)) % 100000

    def scenario(self):
        lines = [f"name sweep-{self.id}", f"seed {self.seed()}",
                 f"duration {self.duration_s:.0f}s",
                 f"sys_offset {self.x_ns if self.kind == 'start' else 0}ns",
                 f"sys_freq_ppm {self.osc}", "sys_random_walk_ppb 1",
                 f"phc {self.profile} 0"]
        if self.kind == "jump":
            lines.append(f"at {JUMP_AT_S}s phc_step 0 {self.x_ns}ns")
        return "".join(f"{line}\n" for line in lines)


def side(value, threshold):
    """-1 below threshold, 1 above, 0 too close to tell."""
    if threshold <= 0:
        return 1
    if value > threshold * (1 + BOUNDARY):
        return 1
    if value < threshold * (1 - BOUNDARY):
        return -1
    return 0


def classify(p):
    """The classes a run may fall in (one, or two at a boundary)."""
    mag = abs(p.x_ns) / S
    over_panic = side(mag, p.panic_s)
    if p.kind == "start":
        # The first two samples, at 0 and ~1 s: the oscillator has moved the offset by
        # OSC us in between.
        seen = {mag, abs(p.x_ns / S + p.osc * 1e-6)}
        if p.fs_s == 0:
            fix = {"slew"}
        else:
            sides = {side(v, p.fs_s) for v in seen}
            fix = {"step"} if sides == {1} else {"pi"} if sides == {-1} else {"step", "pi"}
    else:
        dis = side(abs(p.x_ns), DISRUPTION_NS)
        step = side(mag, p.st_s) if p.st_s > 0 else -1
        big = {"step"} if step == 1 else {"slew"} if step == -1 else {"step", "slew"}
        fix = {"pi"} if dis == -1 else big if dis == 1 else {"pi"} | big
    if over_panic == 1:
        return {"panic"}
    if over_panic == 0:
        return {"panic"} | fix
    return fix


def pi_bound_s(x_ns):
    return LOCK_BOUND_S + 2 * math.log(max(abs(x_ns), LOCK_NS) / LOCK_NS) / -math.log(PI_POLE)


def slew_bound_s(x_ns):
    return abs(x_ns) / S / SLEW_MAX_RATE + pi_bound_s(min(abs(x_ns), 100 * MS))


def all_points():
    return [Point(k, pol, s, m, prof, osc)
            for k, pol, s, m, (prof, osc) in itertools.product(
                KINDS, POLICIES, SIGNS, GRID, PAIRS)]


def ci_points():
    """Every magnitude x sign x kind x policy on CI_PAIRS (profile, oscillator) pairs; the
    pairs rotate along the list (12 magnitudes and 25 pairs share no factor), so each
    pair meets some 23 points of varied sizes, kinds and policies."""
    combos = itertools.product(KINDS, POLICIES, SIGNS, GRID)
    return [Point(k, pol, s, m, *PAIRS[(i * CI_PAIRS + j) % len(PAIRS)])
            for i, (k, pol, s, m) in enumerate(combos) for j in range(CI_PAIRS)]


def shard(points, n, count=SHARDS):
    """The points of shard n: costliest (longest simulated) first, each to the shard with
    the least simulated time so far, plus a fixed cost a run for the process start."""
    loads = [0.0] * count
    mine = []
    for p in sorted(points, key=lambda p: (-p.duration_s, p.id)):
        i = loads.index(min(loads))
        loads[i] += p.duration_s + RUN_COST_S
        if i == n:
            mine.append(p)
    return mine


def steps_after(run, t0):
    return [a for a in run.steps() if a["t"] >= t0]


def run_point(t, p):
    """Run one point and check it; returns the number of failed checks."""
    before = t.failed
    conf = ["device /dev/ptp0", "rtcsync yes"] + p.conf
    scn = t.work.file(f"{p.id}.scn", p.scenario())
    r = t.run(p.id, os.path.abspath(scn), conf=conf)
    ref = invariants.reference(r)
    label = p.id
    print(f"# {label}: classes {'|'.join(sorted(p.classes))}, {p.duration_s:.0f} s simulated")
    invariants.check_all(t, r, label, ref)
    if p.kind == "jump":
        pre = r.lock_time(bound_ns=LOCK_NS, until_t=JUMP_AT_S)
        t.le(r, f"{label}: locked before the jump at", pre, JUMP_AT_S - 5,
             "the jump must hit a locked clock", " s")
    taken = taken_class(r, p)
    if len(p.classes) > 1:
        print(f"# {label}: at a threshold; took the {taken} side")
    CHECKS[taken](t, r, p, label, ref)
    return t.failed - before


def taken_class(r, p):
    """The class the run went into, among those allowed."""
    if len(p.classes) == 1:
        return next(iter(p.classes))
    stepped = bool(steps_after(r, p.event_t))
    if "panic" in p.classes and invariants.panic_lines(r) and not stepped and \
            not moved(r, p):
        return "panic"
    if "step" in p.classes and stepped:
        return "step"
    rest = p.classes - {"panic", "step"}
    return next(iter(sorted(rest))) if rest else "step"


def freq_changes(r):
    return [a for a in r.adjs if a["modes"] & invariants.phcsim.ADJ_FREQUENCY]


def moved_after_jump(r, p):
    at = [k["offset_ns"] for k in r.ticks if k["t"] >= p.event_t]
    return max(abs(v - at[0]) for v in at) if at else None


def moved(r, p):
    """Whether the clock was corrected after the event (steps aside)."""
    if p.kind == "start":
        return bool(freq_changes(r))
    return (moved_after_jump(r, p) or 0) > PANIC_DRIFT_NS


def check_panic(t, r, p, label, ref):
    lines = invariants.panic_lines(r)
    t.eq(r, f"{label}: log lines /max_offset_panic/ ({lines[0] if lines else 'none'})",
         len(lines), 1, "refused loudly, once")
    t.eq(r, f"{label}: steps after the event", len(steps_after(r, p.event_t)), 0,
         "max_offset_panic refuses the correction")
    if p.kind == "start":
        t.eq(r, f"{label}: frequency changes", len(freq_changes(r)), 0,
             "a refused offset moves nothing")
        return
    t.le(r, f"{label}: true offset against UTC moved after the jump", moved_after_jump(r, p),
         PANIC_DRIFT_NS,
         "the clock keeps its locked frequency: ppb over 90 s", " ns")


def check_step(t, r, p, label, ref):
    steps = steps_after(r, p.event_t)
    t.eq(r, f"{label}: steps after the event", len(steps), 1,
         "one step corrects the offset; a single jump is always stepped once")
    if not steps:
        invariants.check_converged(t, r, label, p.event_t, STEP_AT_S + LOCK_AFTER_STEP_S,
                                   ref, LOCK_NS, excuses=())
        return
    s = steps[0]
    if "panic" in p.classes and invariants.panic_lines(r):
        # At max_offset_panic the readout noise may carry the offset across the limit
        # and back: a refusal followed by the step is one of the two sides.
        print(f"# {label}: refused at first, then stepped: the step's time is not checked")
    else:
        t.le(r, f"{label}: step at", s["t"] - p.event_t, STEP_AT_S,
             "the second sample (start) or the next poll and two quick polls (jump)", " s")
    # A start offset X is stepped by -X (less the oscillator's drift until then); a PHC
    # jump X is followed: +X.
    want = -(p.x_ns + p.osc * 1000 * s["t"]) if p.kind == "start" else p.x_ns
    t.near(r, f"{label}: step size", s["step_ns"], want, STEP_TOL_NS,
           "the offset at the step", " ns")
    invariants.check_converged(t, r, label, s["t"], LOCK_AFTER_STEP_S, ref, LOCK_NS,
                               excuses=())


def check_pi(t, r, p, label, ref):
    t.eq(r, f"{label}: steps after the event", len(steps_after(r, p.event_t)), 0,
         "below the thresholds the servo absorbs the offset")
    invariants.check_converged(t, r, label, p.event_t, pi_bound_s(p.x_eff()), ref,
                               LOCK_NS, excuses=())


def slew_rates(r, p, ref, until_t):
    """(worst rate in s/s while |error| > SLEW_FAST_NS, largest growth of |error| in ns
    while above LOCK_NS: an overshoot) over the ticks from SLEW_SETTLE_S after the
    event."""
    ticks = [k for k in r.ticks if p.event_t + SLEW_SETTLE_S <= k["t"] <= until_t]
    errs = [(k["t"], abs(k["offset_ns"] - ref(k["t"]))) for k in ticks]
    worst, grew = None, 0.0
    for (t1, e1), (t2, e2) in zip(errs, errs[1:]):
        if e1 > SLEW_FAST_NS and e2 > SLEW_FAST_NS / 2:
            rate = (e1 - e2) / (t2 - t1) / S
            worst = rate if worst is None else min(worst, rate)
        if e1 > LOCK_NS:
            grew = max(grew, e2 - e1)
    return worst, grew


def check_slew(t, r, p, label, ref):
    t.eq(r, f"{label}: steps after the event", len(steps_after(r, p.event_t)), 0,
         "the policy allows no step here: slewed")
    if "panic" in p.classes and invariants.panic_lines(r):
        # At max_offset_panic the oscillator's drift may carry the offset inside the
        # limit after a refusal: the slew then starts late, and its rate is not judged.
        print(f"# {label}: refused at first, then slewed: the slew's rate is not checked")
        return
    end = r.ticks[-1]["t"] if r.ticks else p.event_t
    worst, grew = slew_rates(r, p, ref, end)
    if abs(p.x_ns) > SLEW_FAST_NS * 2:
        t.ge(r, f"{label}: slowest slew while |error| > {SLEW_FAST_NS // MS} ms", worst,
             SLEW_MIN_RATE, "the kernel's tick range gives 10 %", " s/s")
    allowed = max(SLEW_GROWTH_NS, SLEW_GROWTH_FRACTION * p.x_eff())
    t.le(r, f"{label}: largest growth of |error| between ticks while slewing", grew,
         allowed, "the slew never turns back: 1 % of |X| for a PI tail's overshoot, or "
         "10 x the noisiest readout (100 ns)", " ns")
    if p.rate_only():
        first = next((abs(k["offset_ns"] - ref(k["t"])) for k in r.ticks
                      if k["t"] >= p.event_t + SLEW_SETTLE_S), None)
        last = abs(r.ticks[-1]["offset_ns"] - ref(end)) if r.ticks else None
        gone = None if first is None or last is None else (first - last) / S
        want = SLEW_MIN_RATE * (end - p.event_t - SLEW_SETTLE_S)
        t.ge(r, f"{label}: error slewed off in {end - p.event_t:.0f} s", gone, want,
             "8 % of the time: the slew cannot finish within a test", " s")
        return
    invariants.check_converged(t, r, label, p.event_t, slew_bound_s(p.x_eff()), ref,
                               LOCK_NS, excuses=())


CHECKS = {"panic": check_panic, "step": check_step, "pi": check_pi, "slew": check_slew}


def shard_case(n):
    def run(t):
        points = shard(ci_points(), n)
        failing = [p.id for p in points if run_point(t, p)]
        print(f"# sweep-{n}: {len(points)} runs, {len(failing)} failing"
              + (f": {' '.join(failing)}" if failing else ""))
    run.__name__ = f"sweep_{n}"
    return run


for _n in range(SHARDS):
    case(shard_case(_n))
