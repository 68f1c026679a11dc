#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""End-to-end tests: phcsyncd, unmodified, under the clock simulator (tests/sim).

Usage: e2e.py CASE...   (e2e.py --list names the cases)

Each case runs the daemon through phcsim on a scenario from scenarios/ and checks the
truth the simulator traces (the true offset of CLOCK_REALTIME, every clock_adjtime call)
and the daemon's own log. The cases are here and in cases_*.py; checks.py has the runner
and its checks, phcsim.py the harness. Every check prints the figure it observed and its
bound; a failed check also names the scenario, the seed and the directory where the
scenario, configuration, trace and log are kept. Exit status: 0 when every check passed,
1 otherwise, 77 when this machine cannot run a case (meson's skip), 99 when the harness
is broken (meson's hard error).

Bounds come from the scenario's noise model. The KVM profile's PTP_SYS_OFFSET_PRECISE
readings carry 20 ns of Gaussian noise and a PI servo passes about that much to the clock,
so a steady lock is held to 3 sigma RMS and 10 sigma at most; the oscillator's random
walk (1 ppb/sqrt(s)) adds about 1 ns a poll. Times are in true seconds from the start.
"""

import os
import re
import sys

import checks
import phcsim
from checks import (KVM, KVM_NOISE_NS, MS, PROFILE_NOISE_NS, PROFILE_START_NS, S, US, case,
                    fmt)
from phcsim import max_abs, mean, rms


def reads_per_second(run):
    reads = [k["phc_reads"] for k in run.ticks]
    return max((b - a for a, b in zip(reads, reads[1:])), default=0)


@case
def steady(t):
    r = t.run("steady", "kvm.scn", subst=KVM)
    lock = t.locks(r, "kvm")
    t.holds(r, "kvm", lock or 0, KVM_NOISE_NS)
    t.steps(r, "kvm", 1, "one step for the 1.5 s start offset")
    step = r.steps()[0]["step_ns"] if r.steps() else None
    t.near(r, "kvm: first step", step, -1.5 * S, 1 * MS,
           "the start offset plus 1 s of 50 ppm drift", " ns")
    truth = rms(r.errors(since_t=lock or 0))
    said = r.log_number(r"offset while locked rms (\d+) ns")
    ratio = None if said is None or not truth else said / truth
    t.check(r, ratio is not None and 1 / 3 <= ratio <= 3,
            f"kvm: report's locked RMS {fmt(said)} ns / true RMS {fmt(truth)} ns = "
            f"{fmt(ratio)} (bound 1/3..3)",
            "the daemon sees the true error plus its own readout noise")
    t.clean_exit(r, "kvm")


@case
def initial_offset(t):
    r = t.run("offset10s", "kvm.scn", subst=dict(KVM, duration="1h", sys_offset="10s"))
    t.steps(r, "10 s", 1, "one step at start, none over the hour")
    step = r.steps()[0] if r.steps() else {"t": None, "step_ns": None}
    t.near(r, "10 s: step", step["step_ns"], -10 * S, 1 * MS, "the start offset", " ns")
    t.le(r, "10 s: time of the step", step["t"], 2, "the second sample steps", " s")
    lock = t.locks(r, "10 s")
    t.holds(r, "10 s", lock or 0, KVM_NOISE_NS)


@case
def phc_jump(t):
    r = t.run("jump", "kvm.scn", subst=KVM, events=["at 300s phc_step 0 +0.5s"])
    ref = r.phc_offset()
    t.steps(r, "jump", 2, "the start offset, then the 0.5 s jump (> step_threshold)")
    second = r.steps()[1] if len(r.steps()) > 1 else {"t": None, "step_ns": None}
    t.near(r, "jump: second step", second["step_ns"], 0.5 * S, 1 * MS,
           "follows the PHC's jump", " ns")
    # disruption_samples 3: samples at 300, 301 and 302 s must agree before the step.
    t.near(r, "jump: time of the second step", second["t"], 300.2, 0.15,
           "confirmed by disruption_samples (3) samples, two of them quick polls 0.1 s "
           "apart, then stepped at once", " s")
    t.log_has(r, r"clock disruption: \+0\.500 s",
              "the log names the disruption: the PHC moved +0.5 s against the system clock")
    lock = t.locks(r, "jump", since_t=300, ref=ref, bound_s=10,
                   why="three polls to confirm, a step, then the servo")
    t.holds(r, "jump", lock or 0, KVM_NOISE_NS, ref=ref)


@case
def slew_only(t):
    r = t.run("slew", "kvm.scn", subst=KVM, events=["at 300s phc_step 0 +20ms"],
              conf=["step_threshold 0"])
    ref = r.phc_offset()
    t.steps(r, "slew", 1, "step_threshold 0: only the first step")
    t.log_has(r, r"slewing \+0\.0(19|20)", "the disruption is slewed")
    # 20 ms at ADJ_FREQUENCY's 500 ppm takes 40 s; the daemon may be faster through
    # ADJ_TICK, never slower.
    t.locks(r, "slew", since_t=300, ref=ref, bound_s=60,
            why="20 ms at 500 ppm is 40 s, plus settling")


@case
def device_error(t):
    # The oscillator changes while the device is unusable, so the clock really drifts
    # away (+0.1 ppm for 50 s: 5 us; -0.2 ppm for 20 s: 4 us) and has to be brought back.
    r = t.run("eio", "kvm.scn", subst=KVM, conf=["device /dev/ptp0"],
              events=["at 300s phc_error 0 EIO 60s", "at 310s sys_freq_step +0.1",
                      "at 900s phc_remove 0 30s 3", "at 910s sys_freq_step -0.2"])
    t.clean_exit(r, "eio")
    t.log_has(r, r"holdover: \d+ failed polls \(Input/output error\)", "holdover is logged")
    t.log_has(r, r"holdover ended after 6\d s", "the recovery is logged")
    t.steps(r, "eio", 1, "no step on stale data, during or after the error")
    # Holdover keeps the last frequency: the 5 us of the oscillator change, plus its
    # error (~15 ppb sd) and the 1 ppb/sqrt(s) random walk over 60 s, a few hundred ns.
    t.le(r, "eio: max |true offset| during the error", max_abs(r.errors(300, 362)), 7 * US,
         "holdover on the last frequency: 5 us of oscillator change plus < 2 us", " ns")
    t.ge(r, "eio: |true offset| at the end of the error", abs(r.errors(360, 360)[0]), 3 * US,
         "the oscillator change moved the clock, so recovery is really tested", " ns")
    t.locks(r, "eio", since_t=360, until_t=900, bound_s=20,
            why="three good samples end holdover, then the servo slews 5 us out")
    t.log_has(r, r"/dev/ptp3 \(KVM virtual PTP\): reopened",
              "the moved device is found again by its clock_name")
    t.log_has(r, r"report: device /dev/ptp3 ", "the daemon ends on the new device")
    t.locks(r, "removed", since_t=930, bound_s=20,
            why="three good samples end holdover, then the servo slews 4 us out")
    gone = len(r.log_grep(r"device gone"))
    t.le(r, "eio: 'device gone' log lines over 30 s of absence and 60 s of EIO", gone, 3,
         "phcsyncd.conf(5): a missing device is logged once, then every few minutes")


READOUT_AUTO = {"kvm": "precise", "vmw": "basic", "hyperv": "basic", "vmclock": "precise",
                "ena": "extended"}


@case
def readout(t):
    for profile, method in READOUT_AUTO.items():
        conf = ["device /dev/ptp0", "readout auto"]
        if profile == "vmclock":
            conf.append("timescale tai")
        r = t.run(profile, "profile.scn", subst={"profile": profile, "duration": "10m"},
                  conf=conf)
        t.log_has(r, rf"report: device /dev/ptp0 .*, readout {method}$",
                  f"auto picks the best method the {profile} driver has")
        lock = t.locks(r, profile)
        t.holds(r, profile, lock or 0, PROFILE_NOISE_NS[profile])
    for method in ("precise", "extended", "basic", "gettime"):
        r = t.run(f"vmclock-{method}", "profile.scn",
                  subst={"profile": "vmclock", "duration": "10m"},
                  conf=["timescale tai", f"readout {method}"])
        t.log_has(r, rf"report: device /dev/ptp0 .*, readout {method}$",
                  "the forced method is used")
        t.log_lacks(r, r"readout method \w+ ->", "a forced method never changes")
        lock = t.locks(r, f"vmclock {method}")
        t.holds(r, f"vmclock {method}", lock or 0, PROFILE_NOISE_NS["vmclock"])
    # ptp_vmw has no PTP_SYS_OFFSET_PRECISE: every read fails and nothing falls back.
    r = t.run("vmw-precise", "profile.scn", subst={"profile": "vmw", "duration": "10m"},
              conf=["readout precise"])
    t.clean_exit(r, "vmw precise")
    t.log_has(r, r"read failed: Operation not supported", "the failure is logged")
    t.log_lacks(r, r"readout method \w+ ->", "no fallback from a forced method")
    t.log_has(r, r"report: 0 updates, 600 read failures",
              "every poll of the 600 s failed and none was used")
    # The backoff's cap is the daemon's choice; a quarter of the 600 polls is far more
    # than any backoff gives and far less than reopening at every poll.
    t.le(r, "vmw precise: reopens in 600 s", len(r.log_grep(r"\): reopened")), 150,
         "a device that keeps failing is reopened with backoff, not at every poll")
    t.steps(r, "vmw precise", 0, "nothing was measured, so nothing is corrected")
    t.ge(r, "vmw precise: min |true offset|", min(abs(e) for e in r.errors()),
         PROFILE_START_NS - 50 * MS, "the 200 ms start offset is never corrected", " ns")


@case
def ena_rate(t):
    base = ["device /dev/ptp0", "readings 25", "poll_interval 0.125"]
    for label, conf in (("default", ["device /dev/ptp0"]), ("capped", base)):
        r = t.run(label, "profile.scn", subst={"profile": "ena", "duration": "10m"},
                  conf=conf)
        # 25 readings every 0.125 s would be 200 reads/s; max_reads_per_second (100 by
        # default) lowers the readings so that the ENA's 125/s is never reached.
        t.le(r, f"ena {label}: PHC reads in a true second", reads_per_second(r), 100,
             "max_reads_per_second 100, below the ENA's 125")
        t.log_lacks(r, r"resource busy", "the ENA never refuses a read")
        lock = t.locks(r, f"ena {label}")
        t.holds(r, f"ena {label}", lock or 0, PROFILE_NOISE_NS["ena"])
    # Without the cap 200 reads/s exceed the driver's 125 (25 every 0.25 s would be only
    # 100/s, which the driver allows).
    r = t.run("uncapped", "profile.scn", subst={"profile": "ena", "duration": "10m"},
              conf=base + ["max_reads_per_second 0"])
    t.log_has(r, r"read failed: Device or resource busy", "the driver's limit is real")
    t.le(r, "ena uncapped: PHC reads in a true second", reads_per_second(r), 125,
         "the simulated ENA refuses reads beyond 125/s")


@case
def observe_only(t):
    r = t.run("observe", "kvm.scn", subst=dict(KVM, duration="10m"), args=["-n", "-x"])
    t.eq(r, "observe: clock-setting calls", len(r.setting_adjs()), 0,
         "-x never adjusts the clock, not even its status")
    # The burst's combined reading carries the read noise (trimmed mean of a burst).
    t.near(r, "observe: first offset reported",
           r.log_number(r"observe-only: first offset ([-+\d]+) ns"), 1.5 * S, KVM_NOISE_NS,
           "the offset is reported, within the read noise", " ns")
    # 1.5 s plus 600 s at 50 ppm; the 1 ppb/sqrt(s) random walk adds ~10 us.
    t.near(r, "observe: true offset at the end", r.ticks[-1]["offset_ns"], 1.53 * S,
           100 * US, "start offset plus free-running drift", " ns")
    t.near(r, "observe: reported drift", r.log_number(r"report: drift ([-+.\d]+) ppb"),
           -50000, 500, "the correction the 50 ppm oscillator would need", " ppb")
    t.clean_exit(r, "observe")


@case
def no_phc(t):
    r = t.run("list", "nophc.scn", args=["--list-devices"], with_conf=False)
    t.eq(r, "--list-devices: exit status", r.rc, 1, "phcsyncd(8): 1 when there is no clock")
    t.check(r, "No PTP hardware clocks found" in r.stdout,
            f"--list-devices says 'No PTP hardware clocks found': {r.stdout.strip()!r}",
            "phcsyncd(8)")
    r = t.run("nowait", "nophc.scn", conf=["wait_for_device no"])
    t.eq(r, "wait_for_device no: exit status", r.rc, 1, "a missing device stops it")
    t.log_has(r, r"no PTP clocks found", "the reason is logged")
    r = t.run("wait", "nophc.scn")
    t.clean_exit(r, "wait")
    t.log_has(r, r"waiting for it", "the wait is logged")
    t.eq(r, "wait: steps or frequency changes",
         [a for a in r.adjs if a["modes"] & (phcsim.ADJ_SETOFFSET | phcsim.ADJ_FREQUENCY)],
         [], "nothing to follow, nothing to correct")
    waits = len(r.log_grep(r"device gone|waiting"))
    t.le(r, "wait: log lines about the missing device in 60 s", waits, 2,
         "phcsyncd.conf(5): logged once, then every few minutes")


@case
def list_devices(t):
    r = t.run("list", "kvm.scn", subst=KVM, args=["--list-devices"], with_conf=False)
    t.eq(r, "--list-devices: exit status", r.rc, 0, "a clock was found")
    for want in ("/dev/ptp0", "KVM virtual PTP", "precise yes"):
        t.check(r, want in r.stdout, f"--list-devices shows {want!r}", "phcsyncd(8)")


@case
def panic(t):
    scn = dict(KVM, duration="10m", sys_offset="2d")
    r = t.run("refuse", "kvm.scn", subst=scn)
    t.log_has(r, r"beyond max_offset_panic 86400 s: NOT correcting",
              "a 2-day offset is refused loudly")
    t.steps(r, "refuse", 0, "max_offset_panic 86400 s")
    t.eq(r, "refuse: frequency changes",
         len([a for a in r.adjs if a["modes"] & phcsim.ADJ_FREQUENCY]), 0,
         "a refused offset moves nothing")
    t.clean_exit(r, "refuse")
    r = t.run("allow", "kvm.scn", subst=scn, conf=["allow_large_step yes"])
    t.steps(r, "allow", 1, "allow_large_step: one step")
    step = r.steps()[0]["step_ns"] if r.steps() else None
    t.near(r, "allow: step", step, -2 * 86400 * S, 1 * MS, "the 2-day start offset", " ns")
    lock = t.locks(r, "allow")
    t.holds(r, "allow", lock or 0, KVM_NOISE_NS)


@case
def kernel_status(t):
    scn = dict(KVM, duration="10m")
    r = t.run("default", "kvm.scn", subst=scn)
    t.check(r, all(k["status"] & phcsim.STA_UNSYNC for k in r.ticks),
            "default: STA_UNSYNC set in every tick", "rtcsync no keeps the RTC untouched")
    r = t.run("rtcsync", "kvm.scn", subst=scn, conf=["rtcsync yes"])
    lock = t.locks(r, "rtcsync")
    # The daemon says locked at its first sample after the error is below 1 us: it
    # clears STA_UNSYNC at most one poll after that, and from then on it stays clear.
    cleared = next((a["t"] for a in r.adjs if a["modes"] & phcsim.ADJ_STATUS and
                    not a["status"] & phcsim.STA_UNSYNC), None)
    t.le(r, "rtcsync: seconds from lock to STA_UNSYNC clear",
         None if cleared is None or lock is None else cleared - lock, 1.01,
         "the first locked sample, one 1 s poll later at most", " s")
    after = [k for k in r.ticks
             if k["t"] > max(lock or 0, cleared or 0) and k["t"] < r.ticks[-1]["t"]]
    t.check(r, after and not any(k["status"] & phcsim.STA_UNSYNC for k in after),
            f"rtcsync: STA_UNSYNC clear in all {len(after)} ticks after lock",
            "rtcsync yes clears it while locked")
    sets = [a for a in r.adjs if a["modes"] & phcsim.ADJ_MAXERROR]
    first = sets[0] if sets else {"maxerror_us": None, "offset_ns": 0}
    t.near(r, "rtcsync: first maxerror", first["maxerror_us"], first["offset_ns"] / US,
           first["offset_ns"] / US / 100, "|offset| + error bound, before the step", " us")
    locked = [a for a in sets[:-1] if a["t"] > (lock or 0)]
    t.le(r, "rtcsync: largest maxerror after lock",
         max((a["maxerror_us"] for a in locked), default=None), 2,
         "|offset| + error bound, both tens of ns", " us")
    t.le(r, "rtcsync: largest esterror after lock",
         max((a["esterror_us"] for a in locked), default=None), 1,
         "the error bound, tens of ns, rounded up", " us")
    t.eq(r, "rtcsync: calls whose maxerror is below the true offset",
         [a["t"] for a in sets if a["maxerror_us"] * US < abs(a["offset_ns"])], [],
         "maxerror is a bound on the true error")
    last = r.adjs[-1] if r.adjs else {"status": 0, "maxerror_us": None}
    t.check(r, bool(last["status"] & phcsim.STA_UNSYNC) and last["maxerror_us"] == 16000000,
            f"rtcsync: at exit status {last['status']:#x}, maxerror {last['maxerror_us']} us",
            "phcsyncd(8): STA_UNSYNC is set again at exit")


@case
def tai(t):
    r = t.run("tai", "profile.scn", subst={"profile": "vmclock", "duration": "10m"},
              conf=["timescale tai", "utc_offset 37"])
    step = r.steps()[0]["step_ns"] if r.steps() else None
    t.near(r, "tai: first step", step, -PROFILE_START_NS, 1 * MS,
           "the 200 ms start offset, not 37 s of TAI-UTC", " ns")
    lock = t.locks(r, "tai")
    t.holds(r, "tai", lock or 0, PROFILE_NOISE_NS["vmclock"])


@case
def offset_ns(t):
    r = t.run("offset", "kvm.scn", subst=dict(KVM, duration="10m"), conf=["offset_ns 5000"])
    lock = t.locks(r, "offset_ns", ref=lambda _t: 5000)
    t.near(r, "offset_ns: mean true offset after lock", mean(r.errors(lock or 0)), 5000,
           3 * KVM_NOISE_NS, "the PHC plus 5 us; the mean of 600 samples is well within "
           "the noise", " ns")
    t.holds(r, "offset_ns", lock or 0, KVM_NOISE_NS, ref=lambda _t: 5000)


@case
def tick(t):
    r = t.run("800ppm", "kvm.scn", subst=dict(KVM, duration="10m", sys_freq_ppm="800"))
    ticks = sorted({a["tick_us"] for a in r.adjs if a["modes"] & phcsim.ADJ_TICK})
    t.check(r, bool(ticks) and all(v != 10000 for v in ticks),
            f"800 ppm: ADJ_TICK used, tick_us {ticks}",
            "ADJ_FREQUENCY stops at 500 ppm; each tick us is 100 ppm")
    t.eq(r, "800 ppm: failed clock_adjtime calls", [a for a in r.adjs if a["ret"] < 0], [],
         "every adjustment is within the kernel's ranges")
    lock = t.locks(r, "800 ppm")
    t.holds(r, "800 ppm", lock or 0, KVM_NOISE_NS)


@case
def check_config(t):
    scn = dict(KVM, duration="1m")
    r = t.run("good", "kvm.scn", subst=scn, args=["--check-config"],
              conf=["readings 7", "poll_interval 0.5"])
    t.eq(r, "good file: exit status", r.rc, 0, "phcsyncd(8)")
    t.check(r, "configuration OK" in r.stdout, f"good file: {r.stdout.strip()!r}",
            "phcsyncd(8)")
    r = t.run("bad", "kvm.scn", subst=scn, args=["--check-config"],
              conf_text="# a comment\nreadings 5\n\npoll_interval 100\n")
    t.eq(r, "bad file: exit status", r.rc, 2, "phcsyncd(8)")
    path = f"{t.work.path}/bad.conf"
    t.check(r, re.match(rf"{re.escape(path)}:4: poll_interval: ", r.stderr) is not None,
            f"bad file: {r.stderr.strip()!r}", "phcsyncd.conf(5): FILE:LINE: KEY: ...")


@case
def convert(t):
    """phcsyncd --convert end to end: the result passes --check-config; bad input and a
    missing file exit 2 with nothing on stdout."""
    data = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "convert")
    scn = dict(KVM, duration="1m")
    src = os.path.join(data, "debian-phc.chrony.in")
    r = t.run("chrony", "kvm.scn", subst=scn, args=["--convert", src], with_conf=False)
    t.eq(r, "chrony.conf: exit status", r.rc, 0, "phcsyncd(8), CONVERTING")
    t.check(r, "device /dev/ptp0\n" in r.stdout and f"{src}:8: warning: " in r.stderr,
            f"chrony.conf: device line, warnings named {src}:LINE", "phcsyncd(8)")
    # The control socket in the work directory: --check-config checks that the default's
    # directory (/run/phcsyncd) is writable, which it is not for a build server's user.
    sock = os.path.join(t.work.path, "ctl.sock")
    r2 = t.run("chrony-check", "kvm.scn", subst=scn, args=["--check-config"],
               conf_text=f"{r.stdout}control_socket {sock}\n")
    t.eq(r2, "the conversion through --check-config: exit status", r2.rc, 0,
         "the output must parse")
    cmd = t.work.file("phc2sys.cmd", "ExecStart=/usr/sbin/phc2sys -s /dev/ptp0 -O -37 -R 4\n")
    r = t.run("phc2sys", "kvm.scn", subst=scn, args=["--convert", cmd], with_conf=False)
    t.eq(r, "phc2sys: exit status", r.rc, 0, "phcsyncd(8)")
    t.check(r, "timescale tai\n" in r.stdout and "poll_interval 0.25\n" in r.stdout,
            "phc2sys: timescale tai, poll_interval 0.25", "-O -37 is TAI - UTC; -R 4")
    r = t.run("missing", "kvm.scn", subst=scn, args=["--convert", "/nonexistent/chrony.conf"],
              with_conf=False)
    t.eq(r, "missing file: exit status", r.rc, 2, "phcsyncd(8), EXIT STATUS")
    t.check(r, r.stdout == "" and "/nonexistent/chrony.conf: cannot read: " in r.stderr,
            f"missing file: {r.stderr.strip()!r}", "phcsyncd(8)")
    # The harness gives the daemon an empty standard input: nothing to follow there.
    r = t.run("stdin", "kvm.scn", subst=scn, args=["--convert", "-"], with_conf=False)
    t.eq(r, "empty standard input: exit status", r.rc, 2, "phcsyncd(8), EXIT STATUS")
    t.check(r, r.stdout == "" and "<stdin>: error: no refclock PHC line" in r.stderr,
            f"empty standard input: {r.stderr.strip()[:80]!r}", "- reads standard input")
    bad = os.path.join(data, "bad-values.chrony.in")
    r = t.run("bad", "kvm.scn", subst=scn, args=["--convert", bad], with_conf=False)
    t.eq(r, "bad values: exit status", r.rc, 2, "phcsyncd(8), EXIT STATUS")
    t.check(r, r.stdout == "" and f"{bad}:1: error: refclock poll: " in r.stderr
            and "not converted: 4 errors" in r.stderr,
            f"bad values: {r.stderr.strip()[:120]!r}", "FILE:LINE: what was expected")


@case
def convert_equivalence(t):
    """One phc2sys command line, run by phc2sys and, converted, by phcsyncd on the same
    simulated PHC that keeps TAI (vmclock): both put the system clock at the same place.
    -O -37 is UTC (timescale tai); -O 37, converted as given, 74 s ahead of UTC."""
    phc2sys = "/usr/sbin/phc2sys"
    if not os.access(phc2sys, os.X_OK):
        raise phcsim.Skip(f"{phc2sys} (linuxptp) is missing")
    scn = {"profile": "vmclock", "duration": "2m"}
    for o, ahead_ns in ((-37, 0), (37, 74 * S)):
        argv = ["-s", "/dev/ptp0", "-c", "CLOCK_REALTIME", "-O", str(o), "-m"]
        cmd = t.work.file(f"cmd{o}", "phc2sys " + " ".join(argv) + "\n")
        conv = t.run(f"convert{o}", "profile.scn", subst=scn, args=["--convert", cmd],
                     with_conf=False)
        t.eq(conv, f"-O {o}: --convert exit status", conv.rc, 0, "phcsyncd(8), CONVERTING")
        runs = {
            "phc2sys": t.run(f"phc2sys{o}", "profile.scn", subst=scn, program=phc2sys,
                             args=argv, with_conf=False),
            "phcsyncd": t.run(f"phcsyncd{o}", "profile.scn", subst=scn,
                              conf_text=conv.stdout + phcsim.daemon_conf()),
        }
        firsts = {}
        for name, r in runs.items():
            t.locks(r, f"-O {o}, {name}", ref=lambda _t: ahead_ns,
                    why=f"the clock {ahead_ns // S} s ahead of UTC, within 1 us")
            firsts[name] = r.steps()[0]["step_ns"] if r.steps() else None
        t.check(runs["phcsyncd"],
                None not in firsts.values()
                and abs(firsts["phcsyncd"] - firsts["phc2sys"]) <= 1 * MS,
                f"-O {o}: first steps {firsts}", "the same correction, to 1 ms")


@case
def determinism(t):
    runs = [t.run(f"run{i}", "busy.scn", args=["-n", "-d"]) for i in (1, 2)]
    t.check(runs[0], runs[0].trace_text == runs[1].trace_text,
            f"two runs: identical traces ({len(runs[0].trace_text)} bytes)",
            "same scenario and seed")
    t.check(runs[0], runs[0].stderr == runs[1].stderr,
            f"two runs: identical logs ({len(runs[0].log)} lines)", "same scenario and seed")
    t.check(runs[0], len(runs[0].steps()) >= 1, "the busy scenario moved the clock",
            "a comparison of idle runs would prove nothing")
    other = t.run("seed5", "busy.scn", args=["-n", "-d"], seed=5)
    t.check(other, other.trace_text != runs[0].trace_text,
            "another seed: a different trace", "the seed reaches the simulation")


if __name__ == "__main__":
    sys.exit(checks.main(sys.argv))
