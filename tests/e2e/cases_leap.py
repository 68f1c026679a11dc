# SPDX-License-Identifier: BSD-2-Clause
"""End-to-end cases for leap seconds (issue 4): phcsyncd under the clock simulator across
the leap at the end of 2027-06-30 that tests/data/leap/future-insert.list (TAI-UTC 37 -> 38)
and future-delete.list (37 -> 36) announce, in each leap_mode, on a UTC and a TAI PHC.

The truth: the simulator flips true TAI-UTC at the leap instant (true UTC midnight for an
insertion, true 23:59:59 for a deletion) and traces it as an `event` `leap`; the guest
kernel applies an armed leap when its own CLOCK_REALTIME reaches midnight and traces a
`kernel_leap`. The two instants differ by the clock's true offset (tens of ns), so a tick
at exactly the flip may fall between them and see the clock a whole second off: that one
tick (1 s of the run) is left out of the offset checks of leap_mode system, and nothing
else. Ticks fall on whole true seconds and so does the flip, so no other tick can.
"""

import hashlib
import os
import re

from checks import KVM, MS, PROFILE_NOISE_NS, S, US, case, fmt
from phcsim import max_abs, rms

DATA = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                    "data", "leap"))
TABLE = {+1: os.path.join(DATA, "future-insert.list"),
         -1: os.path.join(DATA, "future-delete.list")}
DEBIAN_TABLES = ("/usr/share/zoneinfo/leap-seconds.list", "/usr/share/zoneinfo/right/UTC")

# linux/timex.h
ADJ_STATUS = 0x0010
ADJ_TAI = 0x0080
STA_INS = 0x0010
STA_DEL = 0x0020
TIME_OK, TIME_INS, TIME_DEL = 0, 1, 2
STA_LEAP = {+1: STA_INS, -1: STA_DEL}
TIME_LEAP = {+1: TIME_INS, -1: TIME_DEL}
VERB = {+1: "insert", -1: "delete"}

# LEAPSEC_IGNORE_S (include/phcsync/leapsec.h): samples this close to the leap are not used.
IGNORE_S = 5
# LEAPSEC_EXPIRY_WARN_DAYS: a table expiring this soon is warned about.
EXPIRY_WARN_DAYS = 28
# After the ignored samples the servo takes out what the clock drifted while its frequency
# was held in about ten polls; 30 s leaves room.
SETTLE_S = 30
# While samples are ignored (11 s) the clock runs on a held frequency, the mean of the
# recent updates (src/sync.c): its error of a few ppb makes tens of ns. 1 us is far above
# that and far below a mishandled leap, which is a whole second.
HOLD_BOUND_NS = 1 * US
TRUE_TAI_UTC = 37

# The scenario starts an hour before the leap, so the leap falls at t = 3600 s (3599 s
# for a deletion, whose flip is at true 23:59:59).
LEAP_EVE = "2027-06-30T23:00:00"


def leap_run(t, label, sign, profile="kvm", start=LEAP_EVE, duration="2h", table=None,
             conf=()):
    return t.run(label, "leap-phc.scn",
                 subst={"profile": profile, "sign": f"{sign:+d}", "start": start,
                        "duration": duration},
                 conf=[f"leapfile {table or TABLE[sign]}", *conf])


def flip_time(run):
    """The true instant of the leap: TAI-UTC changes and true UTC repeats or skips a second."""
    flips = [e["t"] for e in run.events if e["event"] == "leap"]
    return flips[0] if flips else None


def kernel_leaps(run):
    return [r for r in run.records if r["type"] == "kernel_leap"]


def tai_sets(run):
    return [a["tai"] for a in run.adjs if a["modes"] & ADJ_TAI and a["ret"] >= 0]


def status_bits_set(run):
    """STA_INS | STA_DEL as ever written by the daemon or seen in the kernel."""
    bits = 0
    for r in run.ticks + [a for a in run.adjs if a["modes"] & ADJ_STATUS]:
        bits |= r["status"] & (STA_INS | STA_DEL)
    return bits


def leap_list_hash(text):
    """The #h line's words for a leap-seconds.list text: SHA-1 over the digits of the #$ and
    #@ stamps and of each entry's two numbers, in file order (the IERS format)."""
    h = hashlib.sha1()
    for line in text.splitlines():
        if line.startswith(("#$", "#@")):
            h.update(line[2:].split()[0].encode())
        elif line and not line.startswith("#"):
            ntp_s, tai_utc = line.split()[:2]
            h.update((ntp_s + tai_utc).encode())
    d = h.hexdigest()
    return " ".join(f"{int(d[i:i + 8], 16):x}" for i in range(0, 40, 8))


def with_expiry(text, expiry_ntp_s):
    """A copy of a leap-seconds.list text with another #@ expiry and a valid #h again."""
    lines = [f"#@\t{expiry_ntp_s}" if line.startswith("#@") else line
             for line in text.splitlines() if not line.startswith("#h")]
    body = "\n".join(lines) + "\n"
    return body + f"#h\t{leap_list_hash(body)}\n"


def check_kernel_leap(t, r, label, sign):
    """leap_mode system: the kernel, told by STA_INS/STA_DEL, takes exactly the one leap."""
    flip = flip_time(r)
    bit = STA_LEAP[sign]
    t.check(r, flip is not None, f"{label}: the scenario's leap happened (t {fmt(flip)} s)",
            "the run must cross the leap to test it")
    if flip is None:
        return None
    leaps = kernel_leaps(r)
    t.eq(r, f"{label}: kernel leaps (sign)", [k["sign"] for k in leaps], [sign],
         f"STA_{'INS' if sign > 0 else 'DEL'} makes the kernel {VERB[sign]} one second")
    t.le(r, f"{label}: |kernel leap - true leap|",
         abs(leaps[0]["t"] - flip) if leaps else None, 1.0,
         "the kernel leaps when CLOCK_REALTIME, tens of ns off, reaches midnight: within "
         "the tick", " s")
    # A step clears the kernel's planned leap (ntp_clear): the daemon clears the bit with
    # each step and sets it again after a second boundary, for the kernel to plan anew.
    last_step = max((s["t"] for s in r.steps() if s["t"] < flip), default=0)
    before = [k for k in r.ticks if max(1, last_step + 3) <= k["t"] < flip]
    t.eq(r, f"{label}: ticks of the leap day before the leap without the leap bit",
         [k["t"] for k in before if not k["status"] & bit], [],
         "armed at the first update on the leap day, again within 3 s of each step")
    t.eq(r, f"{label}: ticks before the leap not in kernel state TIME_{VERB[sign][:3].upper()}",
         [k["t"] for k in before if k["t"] >= last_step + 4 and k["state"] != TIME_LEAP[sign]],
         [], "the armed kernel waits for midnight (from the second after the bit is set)")
    cleared = next((k["t"] for k in r.ticks if k["t"] > flip and not k["status"] & bit), None)
    t.le(r, f"{label}: seconds from the leap until the bit is cleared",
         None if cleared is None else cleared - flip, IGNORE_S + 3,
         "cleared by the first update after the ignored samples, which end 5 s after "
         "midnight (6 true seconds after an insertion), and seen at the next tick", " s")
    t.eq(r, f"{label}: ticks after the clearing with the bit set again",
         [k["t"] for k in r.ticks if cleared is not None and k["t"] >= cleared
          and k["status"] & (STA_INS | STA_DEL)], [],
         "the leap is done: the bit stays clear")
    t.eq(r, f"{label}: kernel state at the end", r.ticks[-1]["state"], TIME_OK,
         "back to TIME_OK once the bit is cleared")
    t.eq(r, f"{label}: the other leap bit ever set",
         status_bits_set(r) & STA_LEAP[-sign], 0, "the table's leap has one sign")
    check_tai(t, r, label, sign, flip, skip=[flip])
    return flip


def check_tai(t, r, label, sign, flip, skip=()):
    """CLOCK_TAI (the kernel's TAI offset) follows true TAI-UTC through the leap."""
    want = [TRUE_TAI_UTC, TRUE_TAI_UTC + sign]
    t.eq(r, f"{label}: ADJ_TAI values set", tai_sets(r), want,
         "37 from the first update, 37+sign after the leap")
    wrong = [k["t"] for k in r.ticks if k["t"] >= 1 and k["t"] not in skip
             and k["tai"] != (TRUE_TAI_UTC if k["t"] < flip else TRUE_TAI_UTC + sign)]
    t.check(r, not wrong, f"{label}: ticks whose kernel TAI offset differs from the truth "
            f"= {wrong[:10]} (expected [])", "CLOCK_TAI stays true TAI across the leap")


def check_offsets(t, r, label, noise_ns, flip, skip):
    """The usual lock before and after the leap; through it, only the frequency hold."""
    lock = t.locks(r, label, until_t=flip - 1)
    start = lock or 0
    before = r.errors(since_t=start, until_t=flip - IGNORE_S - 1)
    t.le(r, f"{label}: RMS true error before the leap", rms(before), 3 * noise_ns,
         f"3 x the readout noise ({noise_ns} ns)", " ns")
    t.le(r, f"{label}: max |true error| before the leap", max_abs(before), 10 * noise_ns,
         f"10 x the readout noise ({noise_ns} ns)", " ns")
    through = [k["offset_ns"] for k in r.ticks if k["t"] >= start and k["t"] not in skip]
    t.le(r, f"{label}: max |true error| through the leap ({len(skip)} tick(s) left out)",
         max_abs(through), HOLD_BOUND_NS, "the frequency is held over 11 s of ignored "
         "samples: tens of ns of drift, never a second", " ns")
    t.le(r, f"{label}: max |true error| through the leap, usual bound", max_abs(through),
         10 * noise_ns, f"10 x the readout noise ({noise_ns} ns): the held frequency is "
         "a few ppb off", " ns")
    after = r.errors(since_t=flip + IGNORE_S + SETTLE_S)
    t.le(r, f"{label}: RMS true error after the leap", rms(after), 3 * noise_ns,
         f"3 x the readout noise ({noise_ns} ns)", " ns")
    t.le(r, f"{label}: max |true error| after the leap", max_abs(after), 10 * noise_ns,
         f"10 x the readout noise ({noise_ns} ns)", " ns")


def system_leap(t, label, sign, profile, conf=()):
    r = leap_run(t, label, sign, profile=profile, conf=conf)
    t.clean_exit(r, label)
    t.log_has(r, rf"leap second: the kernel will {VERB[sign]} a second at the end of "
              r"2027-06-30", "the arming is logged with the day")
    t.log_has(r, r"leap second: done, kernel leap status cleared", "the clearing is logged")
    flip = check_kernel_leap(t, r, label, sign)
    t.steps(r, label, 1, "the start offset only: the kernel takes the leap")
    if flip is not None:
        check_offsets(t, r, label, PROFILE_NOISE_NS[profile], flip, skip=[flip])
    return r


@case
def leap_insert(t):
    # The day before: the table's leap is at the end of tomorrow, so nothing is armed
    # until UTC midnight, and STA_INS comes at the first update of the leap day.
    r = leap_run(t, "eve", +1, start="2027-06-29T23:00:00")
    armed = [a["t"] for a in r.adjs if a["modes"] & ADJ_STATUS and a["status"] & STA_INS]
    t.check(r, bool(armed) and 3600 <= armed[0] <= 3602,
            f"eve: first ADJ_STATUS with STA_INS at t {fmt(armed[0] if armed else None)} s "
            "(bound 3600..3602 s, midnight plus one poll)",
            "phcsyncd.conf(5): STA_INS is set on the day that ends with the leap")
    t.eq(r, "eve: ticks of 2027-06-29 with STA_INS",
         [k["t"] for k in r.ticks if k["t"] < 3600 and k["status"] & STA_INS], [],
         "the day before the leap day is left alone")
    t.eq(r, "eve: ticks of the leap day without STA_INS",
         [k["t"] for k in r.ticks if k["t"] >= 3602 and not k["status"] & STA_INS], [],
         "armed for the rest of the leap day")
    t.eq(r, "eve: kernel leaps", len(kernel_leaps(r)), 0, "the leap is a day away")
    system_leap(t, "insert", +1, "kvm")


@case
def leap_delete(t):
    system_leap(t, "delete", -1, "kvm")


@case
def leap_tai_phc(t):
    # A vmclock PHC keeps TAI: the daemon subtracts the table's TAI-UTC (37, then 38 or
    # 36 from the leap on) with no utc_offset; auto must pick tai for vmclock.
    for sign, timescale in ((+1, "auto"), (-1, "tai")):
        label = f"vmclock {VERB[sign]}"
        r = system_leap(t, label, sign, "vmclock", conf=[f"timescale {timescale}"])
        t.log_has(r, r"/dev/ptp0: timescale tai", f"timescale {timescale} gives tai")
        step = r.steps()[0]["step_ns"] if r.steps() else None
        t.near(r, f"{label}: first step", step, -300 * MS, 1 * MS,
               "the scenario's 300 ms start offset, not 37 s of TAI-UTC", " ns")


def step_leap(t, sign):
    label = f"step {VERB[sign]}"
    r = leap_run(t, label, sign, conf=["leap_mode step"])
    t.clean_exit(r, label)
    flip = flip_time(r)
    t.eq(r, f"{label}: kernel leaps", len(kernel_leaps(r)), 0, "the kernel is left alone")
    t.eq(r, f"{label}: STA_INS/STA_DEL ever set", status_bits_set(r), 0,
         "leap_mode step never arms the kernel")
    t.steps(r, label, 2, "the start offset, then the leap")
    leap = r.steps()[1] if len(r.steps()) > 1 else {"t": None, "step_ns": None}
    t.near(r, f"{label}: leap step", leap["step_ns"], -sign * S, 1 * US,
           f"one second {'back' if sign > 0 else 'forward'}", " ns")
    t.check(r, None not in (flip, leap["t"]) and flip <= leap["t"] <= flip + 2,
            f"{label}: step at t {fmt(leap['t'])} s, leap at {fmt(flip)} s (bound: within "
            "2 s after)", "the first poll that reads the PHC at or past 00:00:00")
    t.log_has(r, rf"leap second: stepped the clock by {re.escape(f'{-sign:+d}')} s "
              r"\(leap_mode step\)",
              "the step is logged")
    if flip is None or leap["t"] is None:
        return
    # Until the step the clock has not taken the leap: a whole second off, as designed.
    late = [k["t"] for k in r.ticks if flip <= k["t"] < leap["t"]]
    t.check(r, bool(late) and all(abs(k["offset_ns"] - sign * S) < 1 * US
                                  for k in r.ticks if k["t"] in late),
            f"{label}: the {len(late)} tick(s) between the leap and the step a second off: "
            f"{[k['offset_ns'] for k in r.ticks if k['t'] in late]} ns",
            "the truth repeated (skipped) a second the clock has not yet")
    t.locks(r, f"{label} after the step", since_t=leap["t"],
            why="the step is exact: back below 1 us at once, within a few polls at most")
    through = [k["offset_ns"] for k in r.ticks if k["t"] >= 2 and k["t"] not in late]
    t.le(r, f"{label}: max |true error| outside the {len(late)} s before the step",
         max_abs(through), HOLD_BOUND_NS, "the frequency hold of leap_mode system", " ns")
    check_tai(t, r, label, sign, leap["t"], skip=late)


@case
def leap_step(t):
    step_leap(t, +1)
    step_leap(t, -1)


def smear_expected(flip, window_s, sign):
    """The smeared clock's offset from true UTC (src/leapsec.c smear_ns): the window is W
    seconds of UTC centred on the leap at UTC L, so it lasts W + sign true seconds, and
    the smeared clock runs at W / (W + sign) of true time across it, continuous. With tau
    the true seconds since the window began, the smeared time is begin + tau * W/(W+sign);
    true UTC u is t (plus the start) before the flip and t - sign after it. So for an
    insertion the clock falls behind UTC by up to a second until the leap and is that much
    ahead of the repeated UTC after it, back to 0 at the window's end."""
    leap_t = flip if sign > 0 else flip + 1  # UTC midnight, in true seconds from the start
    begin = leap_t - window_s / 2
    span = window_s + sign

    def expected(t):
        tau = t - begin
        if tau <= 0 or tau >= span:
            return 0.0
        if t < flip:
            return -sign * tau / span * S
        return sign * (span - tau) / span * S

    return expected


def check_smear(t, r, label, sign, window_s, loose_bound_ns=None):
    flip = flip_time(r)
    t.clean_exit(r, label)
    t.eq(r, f"{label}: kernel leaps", len(kernel_leaps(r)), 0, "the smear replaces the leap")
    t.eq(r, f"{label}: STA_INS/STA_DEL ever set", status_bits_set(r), 0,
         "leap_mode smear never arms the kernel")
    t.steps(r, label, 1, "the start offset only: a smear never steps")
    t.eq(r, f"{label}: ADJ_TAI values set", tai_sets(r), [TRUE_TAI_UTC, TRUE_TAI_UTC + sign],
         "TAI-UTC follows the table, not the smear")
    t.log_has(r, r"leap smear started", "logged")
    t.log_has(r, r"leap smear finished", "logged")
    if flip is None:
        t.check(r, False, f"{label}: the scenario's leap happened", "the run must cross it")
        return
    expected = smear_expected(flip, window_s, sign)
    leap_t = flip if sign > 0 else flip + 1
    # Locked to plain UTC before the smear begins; from there on the curve is the reference.
    lock = r.lock_time(until_t=leap_t - window_s / 2) or 0
    err = r.errors(since_t=lock, ref=expected)
    if loose_bound_ns is not None:
        t.le(r, f"{label}: max |true offset - smear curve| after lock", max_abs(err),
             loose_bound_ns, "1% of the smeared second: the smear, not UTC and not a step",
             " ns")
    rate_ns = S / window_s
    t.le(r, f"{label}: max |true offset - smear curve| after lock", max_abs(err),
         3 * rate_ns, f"three polls of the smear rate ({fmt(rate_ns)} ns/s): the curve's "
         "corners (its start and end, where the rate changes at once, and the leap, where "
         "the target moves by one poll's worth) each cost the servo a poll or two", " ns")
    mid = [k["offset_ns"] for k in r.ticks if k["t"] == flip - 1]
    t.near(r, f"{label}: true offset a second before the leap", mid[0] if mid else None,
           -sign * S / 2, 1 * MS, "half the second is smeared at the leap", " ns")
    # Away from the corners the clock should follow the smear as closely as plain UTC.
    corners = (leap_t - window_s / 2, flip - IGNORE_S - 1, leap_t + window_s / 2)
    calm = [e for k, e in zip([k for k in r.ticks if k["t"] >= lock], err)
            if not any(c <= k["t"] <= c + 2 * IGNORE_S + 2 + SETTLE_S for c in corners)]
    noise = PROFILE_NOISE_NS["kvm"]
    t.le(r, f"{label}: RMS |true offset - smear curve| away from the corners", rms(calm),
         3 * noise, f"3 x the readout noise ({noise} ns)", " ns")
    t.le(r, f"{label}: max |true offset - smear curve| away from the corners",
         max_abs(calm), 10 * noise, f"10 x the readout noise ({noise} ns)", " ns")


@case
def leap_smear(t):
    # The default window, 86400 s from noon to noon: 13 h before and after the leap. Its
    # rate, 1 s a day, is 11.6 ppm: one poll behind the curve is 11.6 us.
    r = leap_run(t, "smear", +1, start="2027-06-30T11:00:00", duration="26h",
                 conf=["leap_mode smear"])
    check_smear(t, r, "smear", +1, 86400)


@case
def leap_smear_short(t):
    # A 2 h window (139 ppm): the same curve, steeper. 1% of the smeared second is the
    # loose bound: it tells the smear from UTC and from a step.
    for sign in (+1, -1):
        label = f"smear 7200 s {VERB[sign]}"
        r = leap_run(t, label, sign, start="2027-06-30T22:30:00", duration="3h",
                     conf=["leap_mode smear", "leap_smear_window 7200"])
        check_smear(t, r, label, sign, 7200, loose_bound_ns=10 * MS)


def check_first_tai(t, r, label):
    sets = [a for a in r.adjs if a["modes"] & ADJ_TAI and a["ret"] >= 0]
    first = sets[0] if sets else {"t": None, "tai": None}
    t.le(r, f"{label}: time of the first ADJ_TAI", first["t"], 60,
         "CLOCK_TAI is right from the first minute", " s")
    t.eq(r, f"{label}: first ADJ_TAI value", first["tai"], TRUE_TAI_UTC,
         "TAI-UTC since 2017")
    t.eq(r, f"{label}: ticks after the first minute whose kernel TAI offset is not 37",
         [k["t"] for k in r.ticks if k["t"] >= 60 and k["tai"] != TRUE_TAI_UTC][:10], [],
         "set once and kept")


@case
def leap_clock_tai(t):
    scn = dict(KVM, duration="5m")
    r = t.run("table", "kvm.scn", subst=scn, conf=[f"leapfile {TABLE[+1]}"])
    check_first_tai(t, r, "test table")
    t.clean_exit(r, "test table")
    if not any(os.path.exists(p) for p in DEBIAN_TABLES):
        print("# leap-clock-tai: no Debian leap table here: leapfile auto not run")
        return
    r = t.run("auto", "kvm.scn", subst=scn, conf=["leapfile auto"])
    t.log_has(r, r"leap table loaded /usr/share/zoneinfo/", "leapfile auto: Debian's table")
    check_first_tai(t, r, "leapfile auto")


@case
def leap_expired(t):
    # expired.list expires 2019-12-28 and knows the leaps up to 2017: in 2025 it is
    # expired and still gives TAI-UTC 37.
    path = os.path.join(DATA, "expired.list")
    r = t.run("expired", "kvm.scn", subst=dict(KVM, duration="5m"), conf=[f"leapfile {path}"])
    t.log_has(r, r"leap table \S+/expired\.list expired on 2019-12-28: .*still applied",
              "phcsyncd.conf(5): an expired table is warned about")
    t.log_lacks(r, r"will not be handled", "an expired table is still used")
    check_first_tai(t, r, "expired")
    t.clean_exit(r, "expired")
    # A table expires after its last entry (the daemon refuses one that does not), so an
    # expired table never holds a leap still to come. The nearest case: the 2027 table
    # re-signed to expire on 2027-07-15 (NTP 4024598400), two weeks after its leap: warned
    # as expiring soon, and the leap is taken.
    with open(TABLE[+1]) as f:
        soon = t.work.file("expires-soon.list", with_expiry(f.read(), 4024598400))
    r = leap_run(t, "expires-soon", +1, table=soon)
    t.log_has(r, r"leap table \S+/expires-soon\.list expires on 2027-07-15: .*still applied",
              f"expiry within {EXPIRY_WARN_DAYS} days is warned about")
    t.eq(r, "expires soon: kernel leaps (sign)", [k["sign"] for k in kernel_leaps(r)], [+1],
         "the table's leap is taken")
    t.eq(r, "expires soon: ADJ_TAI values set", tai_sets(r), [37, 38], "37, then 38")
    t.clean_exit(r, "expires soon")


@case
def leap_bad_hash(t):
    path = os.path.join(DATA, "bad-hash.list")
    r = t.run("bad-hash", "kvm.scn", subst=dict(KVM, duration="1m"),
              conf=[f"leapfile {path}"])
    t.eq(r, "bad hash: exit status", r.rc, 1, "a named table that fails is fatal")
    line = next((x for x in r.stderr.splitlines() if "bad-hash.list" in x), "none")
    t.check(r, "hash mismatch" in line, f"bad hash: message naming the file: {line!r}",
            "one clear line with the file and the reason")
    t.eq(r, "bad hash: clock-setting calls", len(r.setting_adjs()), 0,
         "it stops before touching the clock")
