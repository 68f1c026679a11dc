# SPDX-License-Identifier: BSD-2-Clause
"""Trust: the reproducers of issue 10, each a case. The daemon must never leave the clock
wrong while it says it is locked, never follow a broken reference, and never leave a
correction unapplied in silence.

Every run has rtcsync yes, so the kernel is told "synchronised" (STA_UNSYNC clear) exactly
when the daemon says locked; the trace's ticks then show whether that claim held: the true
offset within the maxerror the daemon reported (which the kernel grows by 500 us/s).
"""

import os

import cases_leap
from checks import KVM, MS, S, US, case
from phcsim import max_abs

STA_UNSYNC = 0x0040
TRUST = ["rtcsync yes"]


def refused_adjs(run):
    return [a for a in run.adjs if a["ret"] < 0]


def phc_reference(run):
    """A function of t: the PHC's error against true time, from its steps and its
    frequency changes: what the clock is to follow."""
    steps = run.phc_offset()
    freqs = sorted((e["t"], e["freq_ppb"]) for e in run.events if e["event"] == "phc_freq")

    def ref(at):
        drift, last_t, ppb = 0.0, 0.0, 0.0
        for when, new_ppb in freqs:
            if when > at:
                break
            drift += ppb * (when - last_t)
            last_t, ppb = when, new_ppb
        return steps(at) + drift + ppb * (at - last_t)

    return ref


def false_claims(run, follow_freq=True):
    """Ticks where the kernel was told the clock is synchronised and it was not within the
    bound it was given, against the PHC (which the clock follows through its jumps, and
    through its frequency unless that is beyond reference_freq_limit)."""
    ref = phc_reference(run) if follow_freq else run.phc_offset()
    # Until the daemon has polled after a jump it cannot know of it.
    blind = [(e["t"], e["t"] + 1.05) for e in run.events if e["event"] == "phc_step"]
    return [(k["t"], k["offset_ns"], k["maxerror_us"]) for k in run.ticks
            if not k["status"] & STA_UNSYNC
            and not any(a <= k["t"] <= b for a, b in blind)
            and abs(k["offset_ns"] - ref(k["t"])) > k["maxerror_us"] * US]


def later_steps(run, after_t=10):
    """Steps after the start-up one."""
    return [s for s in run.steps() if s["t"] > after_t]


def honest(t, run, label, follow_freq=True):
    t.eq(run, f"{label}: clock_adjtime calls the kernel refused", len(refused_adjs(run)), 0,
         "the daemon asks only what the kernel accepts")
    t.eq(run, f"{label}: synchronised ticks beyond maxerror (t, ns, us)",
         false_claims(run, follow_freq)[:5], [],
         "never locked while the truth is outside the bound")
    t.clean_exit(run, label)


@case
def trust_tick_range(t):
    # Host steps of 100 to 128 ms were slewed with a tick of 11005 us, which the kernel
    # refuses: the clock stayed off while the daemon said locked.
    for jump_ms in (100, 110, 120, 127):
        label = f"jump {jump_ms} ms"
        r = t.run(f"jump{jump_ms}", "kvm.scn", subst=dict(KVM, duration="90s"),
                  events=[f"at 30s phc_step 0 +{jump_ms}ms"], conf=TRUST)
        ref = r.phc_offset()
        honest(t, r, label)
        t.steps(r, label, 1, "below step_threshold (0.128 s): slewed, only the start stepped")
        # Confirmed in 0.2 s, then at up to 10 %: about 1.3 s, and the servo's few polls.
        t.locks(r, label, since_t=30, ref=ref, bound_s=10,
                why="confirmed in 0.2 s, slewed at up to 10 %, then the servo")
    # chronyd without makestep: nothing is ever stepped, a start offset is slewed.
    r = t.run("noslew", "kvm.scn", subst=dict(KVM, duration="120s"),
              conf=TRUST + ["first_step_threshold 0", "step_threshold 0"])
    honest(t, r, "start 1.5 s, no steps")
    t.steps(r, "start 1.5 s, no steps", 0, "thresholds 0: slewed")
    t.locks(r, "start 1.5 s, no steps", bound_s=30,
            why="1.5 s at up to 10 % takes 15 s, then the servo")
    t.log_has(r, r"offset slewed out in \d+ s", "the end of the slew is logged")


@case
def trust_step_budget(t):
    # A PHC that keeps stepping back drags the clock no further than the budget: one
    # confirmed disruption is stepped, the rest refused (or the PHC found not sane).
    events = [f"at {n}s phc_step 0 -1s" for n in range(21, 51)]
    r = t.run("back30", "kvm.scn", subst=dict(KVM, duration="120s", sys_offset="0"),
              events=events, conf=TRUST)
    honest(t, r, "30 steps back")
    end = r.ticks[-1]["offset_ns"] if r.ticks else None
    t.le(r, "30 steps back: |true error| at the end", abs(end) if end is not None else None,
         1.2 * S, "the first 1 s step is allowed (step_limit_back 1), no further", " ns")
    t.le(r, "30 steps back: steps after the start", len(later_steps(r)), 1,
         "one step, then refusals")
    t.log_has(r, r"refused: step budget|reference fault", "refused loudly")
    t.eq(r, "30 steps back: 'refused: step budget' lines",
         min(len(r.log_grep(r"refused: step budget")), 1), 1, "logged, once per fault")
    # The budget does not stop a single big jump, nor jumps an hour apart.
    r = t.run("apart", "kvm.scn", subst=dict(KVM, duration="2h", sys_offset="0"),
              events=["at 600s phc_step 0 -5s", "at 4300s phc_step 0 -5s"], conf=TRUST)
    honest(t, r, "two jumps an hour apart")
    t.eq(r, "two jumps an hour apart: steps after the start", len(later_steps(r)), 2,
         "each the first in its window")
    # An operator's step overrides a refusal.
    sock = os.path.join(t.work.path, "ctl.sock")
    ctl = t.harness.ctl
    r = t.run("override", "kvm.scn", subst=dict(KVM, duration="120s", sys_offset="0"),
              events=["at 30s phc_step 0 -2s", "at 60s phc_step 0 -2s",
                      f"at 90s exec {ctl} -s {sock} step"],
              conf=TRUST + [f"control_socket {sock}"])
    t.log_has(r, r"refused: step budget", "the second jump is refused")
    t.log_has(r, r"step requested over the control socket", "the operator's step")
    t.eq(r, "override: steps after the start", len(later_steps(r)), 2,
         "the first jump, then the operator's step")
    end = r.ticks[-1]["offset_ns"] if r.ticks else None
    t.le(r, "override: |error against the PHC| at the end",
         abs(end + 4 * S) if end is not None else None, 1 * MS,
         "the operator's step follows the PHC", " ns")


@case
def trust_reference(t):
    # A PHC 0.1 % fast was followed while "locked_stable": 590 ms off in 10 minutes.
    for ppb in (1000000, -1000000, 100000000):
        label = f"PHC {ppb / 1e3:+.0f} ppm"
        r = t.run(f"fast{ppb}", "kvm.scn", subst=dict(KVM, duration="10m"),
                  events=[f"at 60s phc_freq 0 {ppb}"], conf=TRUST)
        honest(t, r, label, follow_freq=False)
        t.log_has(r, r"reference fault: not following the PHC", "found not sane, said once")
        err = r.errors(since_t=70)
        t.le(r, f"{label}: max |true error| after the fault", max_abs(err), 1 * MS,
             "the held frequency, not the PHC's: 3 samples of 0.1 % at most, then the "
             "oscillator's 1 ppb/sqrt(s) walk", " ns")
        t.eq(r, f"{label}: steps", len(r.steps()), 1, "only the start offset")
    # A PHC 0.05 % off is within reference_freq_limit (800 ppm) with a 50 ppm oscillator:
    # followed, as it must be (the limit is documented, not a guess).
    r = t.run("within", "kvm.scn", subst=dict(KVM, duration="5m"),
              events=["at 60s phc_freq 0 500000"], conf=TRUST)
    honest(t, r, "PHC +500 ppm")
    t.log_lacks(r, r"reference fault:", "within the limit")


@case
def trust_slew_with_drift(t):
    # The slew froze the integrator: with a 100 ppm oscillator a 0.1 s host step stayed
    # "slewing" at +100 us for 320 s.
    for ppm in (100, -100, 500, -500):
        label = f"osc {ppm:+d} ppm"
        r = t.run(f"osc{ppm}", "kvm.scn",
                  subst=dict(KVM, duration="120s", sys_freq_ppm=str(ppm)),
                  events=["at 30s phc_step 0 +100ms"], conf=TRUST + ["step_threshold 0"])
        ref = r.phc_offset()
        honest(t, r, label)
        t.locks(r, label, since_t=30, ref=ref, bound_s=15,
                why="0.2 s to confirm, ~1 s at up to 10 %, then the servo")
        t.log_has(r, r"disruption slewed out in \d+ s", "the slew ends")


@case
def trust_smear(t):
    # A control-socket step during a smear stepped the clock out of it, and the next poll
    # stepped it back; holdover in a smear dropped the smear's rate (2.78 ms in 20 s).
    ctl = t.harness.ctl
    start = "2027-06-30T22:30:00"
    sock = os.path.join(t.work.path, "ctl.sock")
    events = ["at 4000s phc_error 0 EIO 20s", f"at 3000s exec {ctl} -s {sock} step"]
    conf = [f"leapfile {cases_leap.TABLE[+1]}", "leap_mode smear", "leap_smear_window 7200",
            f"control_socket {sock}"]
    r = t.run("smear", "leap-phc.scn",
              subst={"profile": "kvm", "sign": "+1", "start": start, "duration": "3h"},
              events=events, conf=conf)
    t.clean_exit(r, "smear")
    t.log_has(r, r"step requested over the control socket", "the operator's step")
    t.eq(r, "smear: steps", len(r.steps()), 2, "the start, and the operator's (no step back)")
    t.log_has(r, r"holdover", "the error outage")
    flip = cases_leap.flip_time(r)
    if flip is None:
        t.check(r, False, "smear: the leap happened", "the run must cross it")
        return
    expected = cases_leap.smear_expected(flip, 7200, +1)
    err = r.errors(since_t=600, ref=expected)
    t.le(r, "smear: max |true offset - smear curve| from 600 s", max_abs(err), 100 * US,
         "the smear's rate is kept through the operator's step and the holdover (139 ppm "
         "over 20 s is 2.8 ms when dropped)", " ns")


@case
def trust_summary(t):
    # Summaries after a repaired jump printed the held samples ("rms 28867508 ns").
    r = t.run("jump", "kvm.scn", subst=dict(KVM, duration="20m"),
              events=["at 300s phc_step 0 +0.5s"], conf=TRUST + ["summary_interval 600"])
    honest(t, r, "jump")
    rmss = [float(x.split("rms ")[1].split(" ")[0]) for x in r.log_grep(r"summary: offset rms")]
    t.le(r, "jump: largest summary RMS", max(rmss) if rmss else None, 1000,
         "only samples taken while locked count", " ns")


@case
def trust_eintr(t):
    # An interrupted read counted as a failure and logged two lines.
    r = t.run("short", "kvm.scn", subst=dict(KVM, duration="120s"),
              events=["at 60s phc_error 0 EINTR 1.5s"], conf=TRUST)
    honest(t, r, "EINTR 1.5 s")
    t.log_lacks(r, r"Interrupted system call|read failed|holdover",
                "an interrupted poll is skipped, not failed")
    t.holds(r, "EINTR 1.5 s", 10, 20)
    r = t.run("long", "kvm.scn", subst=dict(KVM, duration="180s"),
              events=["at 60s phc_error 0 EINTR 60s"], conf=TRUST)
    honest(t, r, "EINTR 60 s")
    t.eq(r, "EINTR 60 s: 'read failed' lines", len(r.log_grep(r"read failed")), 1,
         "a run of interrupted polls is a failure, said once")
    t.log_has(r, r"holdover: \d+ failed polls \(Interrupted system call\)",
              "then holdover, as for any failure")
    t.locks(r, "EINTR 60 s", since_t=120, bound_s=10, why="reads again, holdover ends")
