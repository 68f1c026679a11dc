# SPDX-License-Identifier: BSD-2-Clause
"""Invariants every run must keep, whatever happened in it: shared by the sweep
(cases_sweep.py) and the fuzzer (cases_fuzz.py).

The truth a daemon can be held to is the PHC's time, not true UTC: a host step of the PHC
(live migration) is followed on purpose, so reference() adds the PHC's jumps and its own
frequency error to true UTC. A PHC whose rate is broken (beyond reference_freq_limit) is
not a reference at all: cases_fuzz.py checks those episodes separately.

Every check goes through checks.Test (check/le/eq), so each prints its figure and bound.
"""

import re

import phcsim

STA_UNSYNC = phcsim.STA_UNSYNC
# The kernel lets maxerror grow by MAXFREQ (500 ppm) each second it is not refreshed: a
# clock free-running within the kernel's frequency range cannot leave that bound.
MAXERROR_GROWTH_NS_PER_S = 500_000
# After a discontinuity of the reference (a PHC jump, a resume, a leap) the daemon cannot
# know before its next poll (<= 1 s) and two quick confirming polls 0.1 s apart; the ticks
# are whole seconds, so the next two ticks may still show the old claim.
GRACE_S = 2.0
# Polls after an outage before the daemon trusts its samples again (holdover's exit), and
# the backoff of a reopen (at most 8 s).
HOLDOVER_EXIT_S = 12.0
# Events after which the truth moves faster than any kernel bound can follow.
DISCONTINUITIES = {"phc_step", "phc_freq", "resume", "phc_return", "leap", "phc_freeze",
                   "phc_backstep", "phc_delay_spike", "phc_freeze_end", "phc_backstep_end"}
# What a daemon may say instead of converging (the new daemon's wording; see issue 10).
EXCUSES = {
    "panic": r"max_offset_panic",
    "budget": r"step budget",
    "fault": r"reference fault",
    "refused": r"refused by the kernel",
}


def reference(run, dev=0, freq0_ppb=0.0):
    """A function of t: the PHC's time less true UTC (ns), from the trace's phc_step and
    phc_freq events of device dev and its initial frequency error freq0_ppb."""
    steps = []
    freqs = [(0.0, freq0_ppb)]
    for e in run.events:
        if e.get("dev") != dev:
            continue
        if e["event"] == "phc_step":
            steps.append((e["t"], e["step_ns"]))
        elif e["event"] in ("phc_freeze_end", "phc_backstep_end"):
            # The PHC runs on from where the episode left it (a broken reference while it
            # lasted: the fuzzer's episodes exempt that span).
            steps.append((e["t"], e["offset_ns"]))
        elif e["event"] == "phc_freq":
            freqs.append((e["t"], e["freq_ppb"]))

    def ref(t):
        ns = sum(s for at, s in steps if at <= t)
        for (a, ppb), (b, _) in zip(freqs, freqs[1:] + [(float("inf"), 0.0)]):
            if a >= t:
                break
            ns += ppb * (min(b, t) - a)
        return ns

    return ref


def outages(run):
    """(start, end) spans while the PHC cannot be read (errors, removal), or its readings
    may all be rejected as delay outliers (a delay spike): the daemon is blind there.
    Spans may overlap; an error's end is its `until` (whole seconds, so one more)."""
    spans, removed = [], None
    for e in run.events:
        if e["event"] in ("phc_error", "phc_delay_spike"):
            spans.append((e["t"], e.get("until", float("inf")) + 1))
        elif e["event"] == "phc_remove" and removed is None:
            removed = e["t"]
        elif e["event"] == "phc_return" and removed is not None:
            spans.append((removed, e["t"]))
            removed = None
    if removed is not None:
        spans.append((removed, float("inf")))
    merged = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def suspensions(run, after_s):
    """(start, end) spans from each suspend to after_s past its resume (to the end of time
    when the run ends asleep)."""
    spans, asleep = [], None
    for e in run.events:
        if e["event"] == "suspend":
            asleep = e["t"]
        elif e["event"] == "resume" and asleep is not None:
            spans.append((asleep, e["t"] + after_s))
            asleep = None
    if asleep is not None:
        spans.append((asleep, float("inf")))
    return spans


def grace_windows(run, extra=()):
    """(start, end) spans where the kernel's bound may lag the truth: GRACE_S after each
    discontinuity, and all of a suspend (the guest's clocks stand while the truth runs). A
    discontinuity while the PHC cannot be read is seen only once it can, and trusted only
    after the samples that end holdover (HOLDOVER_EXIT_S)."""
    spans = list(extra) + suspensions(run, GRACE_S)
    dark = outages(run)
    for e in run.events:
        if e["event"] in DISCONTINUITIES:
            end = e["t"] + GRACE_S
            for a, b in dark:
                # Seen only at the first good read after it: an outage that starts before
                # the next poll hides it too.
                if a <= e["t"] + GRACE_S and e["t"] <= b:
                    end = max(end, b + GRACE_S + HOLDOVER_EXIT_S)
            spans.append((e["t"], end))
    return spans


def in_spans(t, spans):
    return any(a <= t <= b for a, b in spans)


def check_adjs_accepted(t, run, label):
    """(1) The simulated kernel refuses nothing a correct daemon asks for."""
    bad = [a for a in run.adjs if a["ret"] < 0]
    first = (f"; first at {bad[0]['t']:.3f} s: modes {bad[0]['modes']:#x} ret {bad[0]['ret']}"
             + (f" tick_us {bad[0]['tick_us']}" if "tick_us" in bad[0] else "")
             + (f" freq_ppb {bad[0]['freq_ppb']}" if "freq_ppb" in bad[0] else "")
             if bad else "")
    t.le(run, f"{label}: clock_adjtime calls refused{first}", len(bad), 0,
         "every request must be within the kernel's ranges (tick 9000..11000 us, "
         "frequency +-500 ppm)")
    return not bad


def maxerror_bounds_ns(run):
    """(tick, bound) for every tick: the kernel's maxerror, or the daemon's last value plus
    the growth of the time since, whichever is larger (the kernel adds its growth once a
    REALTIME second, which may fall after the tick)."""
    sets = [a for a in run.adjs if a["modes"] & phcsim.ADJ_MAXERROR and a["ret"] >= 0]
    i, last = 0, None
    for k in run.ticks:
        while i < len(sets) and sets[i]["t"] <= k["t"]:
            last = sets[i]
            i += 1
        bound = k["maxerror_us"] * 1000
        if last is not None:
            grown = last["maxerror_us"] * 1000 + \
                MAXERROR_GROWTH_NS_PER_S * (k["t"] - last["t"])
            bound = max(bound, grown)
        yield k, bound


def check_unsync_bound(t, run, label, ref, spans):
    """(2) Whenever STA_UNSYNC is clear the clock is within the kernel's maxerror of the
    reference (with rtcsync yes the daemon clears it exactly when it claims a lock)."""
    worst = None
    count = 0
    for k, bound in maxerror_bounds_ns(run):
        if k["status"] & STA_UNSYNC or in_spans(k["t"], spans):
            continue
        count += 1
        err = abs(k["offset_ns"] - ref(k["t"]))
        if err > bound and (worst is None or err - bound > worst[1] - worst[2]):
            worst = (k["t"], err, bound)
    figure = (f"{label}: synced ticks (STA_UNSYNC clear) beyond maxerror: worst at "
              f"{worst[0]:.0f} s |error| {worst[1]:.0f} ns > {worst[2]:.0f} ns"
              if worst else f"{label}: all {count} synced ticks within maxerror")
    t.check(run, worst is None, figure,
            "the kernel's maxerror is the daemon's promise of its error bound")
    return worst is None


def check_ran_to_end(t, run, label):
    """(3) The daemon survives every scenario and exits 0 on the final SIGTERM."""
    t.clean_exit(run, label)
    return run.rc == 0 and run.ended_by_scenario()


def excuse(run, kinds):
    """The first log line giving one of kinds (keys of EXCUSES) as its reason, or None."""
    for kind in kinds:
        lines = run.log_grep(EXCUSES[kind])
        if lines:
            return lines[0]
    return None


def check_converged(t, run, label, since_t, bound_s, ref, lock_ns=1000,
                    excuses=("panic", "budget", "fault")):
    """(4) |error| below lock_ns for good within bound_s of since_t, or a log line saying
    why not. Returns the lock time or None."""
    lock = run.lock_time(bound_ns=lock_ns, since_t=since_t, ref=ref)
    delay = None if lock is None else lock - since_t
    ok = delay is not None and delay <= bound_s
    why = None if ok else excuse(run, excuses)
    last = run.ticks[-1] if run.ticks else None
    tail = "" if ok or last is None else \
        f"; error at the end {last['offset_ns'] - ref(last['t']):.0f} ns"
    mark = f" (excused: {why})" if why else ""
    t.check(run, ok or why is not None,
            f"{label}: seconds until |error| < {lock_ns} ns for good = "
            f"{'never' if delay is None else f'{delay:.1f}'} (bound <= {bound_s:.1f} s){tail}"
            f"{mark}", "the class's convergence bound, or a logged reason")
    return lock


def check_all(t, run, label, ref, spans=None):
    """Invariants (1)-(3); (4) needs the class's bound and is the caller's."""
    spans = grace_windows(run) if spans is None else spans
    ok = check_adjs_accepted(t, run, label)
    ok &= check_unsync_bound(t, run, label, ref, spans)
    ok &= check_ran_to_end(t, run, label)
    return ok


def panic_lines(run):
    """The lines that refuse a correction for max_offset_panic (the exit report, which
    names the state it ends in, is not one)."""
    return [line for line in run.log_grep(r"max_offset_panic") if "report:" not in line]


def status_says(text, key):
    m = re.search(rf'"{key}":\s*("?)([^,"}}]*)\1', text)
    return m.group(2) if m else None
