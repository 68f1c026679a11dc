# SPDX-License-Identifier: BSD-2-Clause
"""Operations: reload of the whole configuration file (live keys, keys that need a
restart, a bad file) and the log's priorities on the journal's stream.

Reloads run as exec events (cases_ctl.py): at a chosen simulated time a shell copies a
prepared file over the daemon's configuration and asks `phcsyncctl -j reload`, while
virtual time stands. What the reload did is then read from the trace (the truth), the
reply and the log.
"""

import os
import re
import shlex
import subprocess

import phcsim
from cases_ctl import Clients, exec_at
from checks import DEFAULT_SERVO, KVM, KVM_NOISE_NS, case
from phcsim import mean, rms

RELOAD_AT_S = 200
DURATION = "400s"


def reload_clients(t, new_conf, times=(RELOAD_AT_S,)):
    """Clients that, at each time in times, put new_conf (lines, with the socket's) in
    place of the daemon's file and ask for a reload; a status before and after."""
    c = Clients(t)
    conf = c.path("ctl.conf")
    new = t.work.file("new.conf", phcsim.daemon_conf([f"control_socket {c.sock}",
                                                      *new_conf]))
    for n, when in enumerate(times):
        c.at(f"{when}s", f"cp {shlex.quote(new)} {shlex.quote(conf)} && " +
             c.ctl_cmd(["-j", "reload"], f"reload-{n}.json"))
    c.at(f"{RELOAD_AT_S - 1}s", c.ctl_cmd(["-j", "status"], "before.json"))
    c.at(f"{RELOAD_AT_S + 150}s", c.ctl_cmd(["-j", "status"], "after.json"))
    return c, conf


def reads_per_poll(r, since_t, until_t):
    """PHC reads per second of true time, averaged over the ticks in [since_t, until_t]."""
    ticks = [k for k in r.ticks if since_t <= k["t"] <= until_t]
    if len(ticks) < 2:
        return None
    return (ticks[-1]["phc_reads"] - ticks[0]["phc_reads"]) / (ticks[-1]["t"] - ticks[0]["t"])


@case
def reload_live(t):
    """Live keys take effect at once: offset_ns 5000 moves the clock 5 us off the PHC and
    readings 2 reads the PHC twice a poll instead of five times, without reopening the
    device or a step."""
    c, _ = reload_clients(t, ["readings 2", "offset_ns 5000", "summary_interval 30"])
    r = c.run(duration=DURATION)
    e = exec_at(r, "reload-0.json")
    reply = c.json_output("reload-0.json")
    t.check(r, e["status"] == 0 and reply["ok"] is True,
            f"reload: phcsyncctl exit {e['status']}, reply {reply}")
    msg = reply.get("message", "")
    t.check(r, re.search(r"applied readings, offset_ns, summary_interval(;|$)", msg) and
            "restart" not in msg,
            f"reply names the three live keys and no restart: {msg!r}",
            "phcsyncd.conf(5) RELOAD: keys in table order")
    t.log_has(r, r"reloaded .*ctl\.conf: applied readings, offset_ns",
              "the reload is logged with what it changed")
    before = reads_per_poll(r, 100, RELOAD_AT_S - 1)
    after = reads_per_poll(r, RELOAD_AT_S + 1, 390)
    t.near(r, "PHC reads per second before the reload", before, 5, 0.2,
           "readings 5 at a 1 s poll (a rare quick poll adds a few)")
    t.near(r, "PHC reads per second after the reload", after, 2, 0.2,
           "readings 2 from the next poll on")
    t.near(r, "mean true offset over the 100 s before the reload",
           mean(r.errors(100, RELOAD_AT_S - 1)), 0, 3 * KVM_NOISE_NS,
           "locked to the PHC with offset_ns 0", " ns")
    t.near(r, "mean true offset from 100 s after the reload",
           mean(r.errors(RELOAD_AT_S + 100, 390)), 5000, 3 * KVM_NOISE_NS,
           "offset_ns 5000: the clock follows the PHC plus 5 us", " ns")
    t.le(r, "RMS error against PHC + 5 us from 100 s after the reload",
         rms(r.errors(RELOAD_AT_S + 100, 390, ref=lambda _t: 5000)), 3 * KVM_NOISE_NS,
         "locked again after the change", " ns")
    t.steps(r, "reload", 1, "the start offset only: 5 us is slewed, not stepped")
    t.eq(r, "log lines saying the device was opened", len(r.log_grep(r": readout \w+$")), 1,
         "a live key never reopens the device")
    summaries = r.log_grep(r"summary: ")
    t.ge(r, "summaries after the reload (summary_interval 30)", len(summaries), 5,
         "one every 30 s from the reload on, where 300 s gave none in 400 s")
    st = c.json_output("after.json")
    t.check(r, st["state"] == "locked" and abs(st["last_offset_ns"]) < 10 * KVM_NOISE_NS,
            f"status after: {st['state']}, last offset {st['last_offset_ns']} ns "
            "(measured against PHC + offset_ns)")
    t.clean_exit(r, "reload")


@case
def reload_restart(t):
    """Keys that need a restart are named in the reply and a warning, at every reload, and
    keep their running value; a live key in the same file is applied."""
    c, _ = reload_clients(t, ["poll_interval 2", "device /dev/ptp0", "readings 3"],
                          times=(RELOAD_AT_S, RELOAD_AT_S + 50))
    c.at(f"{RELOAD_AT_S + 149}s", c.ctl_cmd(["-j", "status"], "after-149.json"))
    r = c.run(duration=DURATION)
    # The second reload finds readings applied already.
    for n, applied in ((0, "applied readings"), (1, "no change to apply")):
        reply = c.json_output(f"reload-{n}.json")
        msg = reply.get("message", "")
        t.check(r, reply["ok"] is True and re.search(
            rf"{applied}; need a restart, still running the old values: device, "
            r"poll_interval;", msg),
            f"reload {n}: {msg!r}", "phcsyncd.conf(5) RELOAD: both classes named")
    warned = r.log_grep(r"need a restart, still running the old values: device, poll_interval")
    t.eq(r, "warnings naming the keys that need a restart", len(warned), 2,
         "one for each reload: the file still differs from what runs")
    after, late = c.json_output("after.json"), c.json_output("after-149.json")
    t.eq(r, "poll interval in status after the reload", after["poll_interval_s"], 1.0,
         "poll_interval needs a restart: still 1 s")
    t.eq(r, "updates in the last second before the final status",
         after["updates"] - late["updates"], 1, "still one poll a second")
    t.near(r, "PHC reads per second after the reload", reads_per_poll(r, RELOAD_AT_S + 1, 390),
           3, 0.2, "readings 3 applied")
    t.check(r, after["device"] == "/dev/ptp0", f"device {after['device']}",
            "the device in use is unchanged")
    t.clean_exit(r, "restart")


@case
def reload_bad(t):
    """A bad file changes nothing (not even its good lines), the daemon keeps running,
    and the error names file, line and key; a good file afterwards is applied."""
    c = Clients(t)
    conf = c.path("ctl.conf")
    bad = t.work.file("bad.conf", phcsim.daemon_conf([
        f"control_socket {c.sock}", "offset_ns 5000", "readings 30"]))
    good = t.work.file("good.conf", phcsim.daemon_conf([
        f"control_socket {c.sock}", "offset_ns 5000", "readings 5"]))
    bad_line = phcsim.daemon_conf([f"control_socket {c.sock}", "offset_ns 5000",
                                   "readings 30"]).splitlines().index("readings 30") + 1
    c.at(f"{RELOAD_AT_S}s", f"cp {shlex.quote(bad)} {shlex.quote(conf)} && " +
         c.ctl_cmd(["-j", "reload"], "bad.json"))
    c.at(f"{RELOAD_AT_S}s", f"rm {shlex.quote(conf)} && " +
         c.ctl_cmd(["-j", "reload"], "gone.json"))
    c.at(f"{RELOAD_AT_S + 100}s", f"cp {shlex.quote(good)} {shlex.quote(conf)} && " +
         c.ctl_cmd(["-j", "reload"], "good.json"))
    r = c.run(duration="500s")
    e = exec_at(r, "bad.json")
    reply = c.json_output("bad.json")
    want = (f"{conf}:{bad_line}: readings: expected an integer from 1 to 25, got \"30\"; "
            "nothing changed")
    t.check(r, reply["ok"] is False and reply.get("error") == want,
            f"bad file: {reply.get('error')!r} (want {want!r})",
            "phcsyncd.conf(5): FILE:LINE: KEY: expected ...")
    t.eq(r, "phcsyncctl exit status for the bad file", e["status"], 1,
         "phcsyncctl(8): 1 when the command failed")
    gone = c.json_output("gone.json")
    t.check(r, gone["ok"] is False and "cannot read" in gone.get("error", ""),
            f"missing -f file: {gone.get('error')!r}", "a file named with -f must exist")
    t.log_has(r, r"reload: .*readings: expected an integer", "the error is logged")
    t.near(r, "mean true offset in the 100 s after the bad reload",
           mean(r.errors(RELOAD_AT_S + 1, RELOAD_AT_S + 99)), 0, 3 * KVM_NOISE_NS,
           "offset_ns 5000 on a good line of the bad file is not applied", " ns")
    good_reply = c.json_output("good.json")
    t.check(r, good_reply["ok"] is True and "applied offset_ns" in good_reply["message"],
            f"good file afterwards: {good_reply.get('message')!r}")
    t.near(r, "mean true offset from 100 s after the good reload",
           mean(r.errors(RELOAD_AT_S + 200, 490)), 5000, 3 * KVM_NOISE_NS,
           "the daemon kept running and applies the good file", " ns")
    t.clean_exit(r, "bad")


# Sends SIGHUP to the one process that is the daemon (argv[0]) running with the file
# (argv has it): phcsim's own command line names both, but not as argv[0].
HUP_SCRIPT = """
import os, signal, sys
daemon, conf = sys.argv[1:]
pids = []
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().decode().split("\\0")
    except OSError:
        continue
    if argv[0] == daemon and conf in argv:
        pids.append(int(pid))
if len(pids) != 1:
    sys.exit(f"expected one daemon, found {pids}")
os.kill(pids[0], signal.SIGHUP)
"""


@case
def reload_hup(t):
    """SIGHUP (systemctl reload) reloads the whole file as `reload` does."""
    c = Clients(t)
    conf = c.path("ctl.conf")
    new = t.work.file("new.conf", phcsim.daemon_conf([f"control_socket {c.sock}",
                                                      "readings 2", "poll_interval 4"]))
    script = t.work.file("hup.py", HUP_SCRIPT)
    c.at(f"{RELOAD_AT_S}s", f"cp {shlex.quote(new)} {shlex.quote(conf)} && "
         f"python3 {shlex.quote(script)} {shlex.quote(t.harness.daemon)} {shlex.quote(conf)}")
    r = c.run(duration=DURATION)
    e = exec_at(r, "hup.py")
    t.eq(r, "the signal's sender: exit status", e["status"], 0, "one daemon found and signalled")
    t.log_has(r, r"SIGHUP: reloading .*ctl\.conf", "the signal is logged")
    t.log_has(r, r"reloaded .*ctl\.conf: applied readings; need a restart, still running the "
              r"old values: poll_interval;", "the same reload as the control socket's")
    t.near(r, "PHC reads per second after SIGHUP", reads_per_poll(r, RELOAD_AT_S + 2, 390), 2,
           0.2, "readings 2 applied, poll_interval kept at 1 s")
    t.clean_exit(r, "hup")


def journal_run(t, label, stream, events=(), args=("-n",), conf_text=None):
    """The daemon under phcsim with stderr on a file and JOURNAL_STREAM set by stream(st),
    st the file's stat; the log's lines."""
    scn = t.work.file(f"{label}.scn", phcsim.scenario_text("kvm.scn", dict(KVM, duration="120s"),
                                                           events))
    conf = t.work.file(f"{label}.conf", conf_text or phcsim.daemon_conf())
    path = os.path.join(t.work.path, f"{label}.log")
    argv = t.harness.phcsim_argv(scn, None, list(args) + ["-f", conf])
    with open(path, "w") as err:
        env = dict(os.environ, JOURNAL_STREAM=stream(os.fstat(err.fileno())))
        rc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=err, env=env, timeout=phcsim.RUN_TIMEOUT_S).returncode
    with open(path) as f:
        lines = f.read().splitlines()
    # phcsim's own lines are not the daemon's.
    return rc, [line for line in lines if not line.startswith("phcsim")]


@case
def journal(t):
    """With JOURNAL_STREAM naming stderr, every line carries its syslog priority as <N> and
    no name or time: faults at <3>/<4>, information at <6>, debug at <7>."""
    events = ["at 30s phc_error 0 EIO 20s"]
    rc, lines = journal_run(t, "journal", lambda st: f"{st.st_dev}:{st.st_ino}", events,
                            args=("-n", "-d"))
    t.eq(None, "exit status", rc, 0, "SIGTERM at the end is a clean exit")
    bad = [line for line in lines if not re.match(r"<[0-7]>\S", line)]
    t.eq(None, "lines without a <N> prefix", bad[:3], [], "sd-daemon(3) prefixes")
    doubled = [line for line in lines if re.search(r"phcsyncd t=|^<\d>phcsyncd[:\[]", line)]
    t.eq(None, "lines with a name or time as well", doubled[:3], [],
         "the journal adds its own")

    def prio(pattern):
        found = [line for line in lines if re.search(pattern, line)]
        return int(found[0][1]) if found else None

    t.eq(None, "priority of the start line", prio(r"phcsyncd \S+ starting"), 6, "LOG_INFO")
    t.check(None, prio(r"read failed") in (3, 4),
            f"priority of the read fault: {prio(r'read failed')}", "LOG_ERR or LOG_WARNING")
    t.check(None, prio(r"holdover: \d+ failed polls") in (3, 4),
            f"priority of holdover: {prio(r'holdover: ')}", "LOG_ERR or LOG_WARNING")
    t.eq(None, "priority of a debug line", prio(r"offset [-+]\d+ ns mode"), 7, "LOG_DEBUG")
    # A configuration error at start comes before logging is set up, at <3> all the same.
    rc, lines = journal_run(t, "bad", lambda st: f"{st.st_dev}:{st.st_ino}",
                            conf_text="readings 30\n")
    t.check(None, rc == 2 and lines == [f"<3>{t.work.path}/bad.conf:1: readings: expected an "
                                        "integer from 1 to 25, got \"30\""],
            f"bad file at start: exit {rc}, {lines}", "a configuration error is an error")
    # Another file's dev:ino (a shell logged to the journal that started the daemon by
    # hand): plain lines with the time.
    rc, lines = journal_run(t, "other", lambda st: f"{st.st_dev}:{st.st_ino + 1}")
    plain = [line for line in lines if re.match(r"phcsyncd t=\d+\.\d{3}s: ", line)]
    t.check(None, rc == 0 and lines and len(plain) == len(lines),
            f"JOURNAL_STREAM of another file: {len(plain)} of {len(lines)} lines "
            f"'phcsyncd t=SECONDSs: ' (first {lines[:1]})", "only stderr itself is the journal")


# scenarios/kvm.scn's start, as UNIX time.
KVM_START_UTC_S = 1740830400  # 2025-03-01T12:00:00Z


@case
def status_tracking(t):
    """What `chronyc tracking` users look for: the servo, the time and age of the last
    sample, the residual frequency and its skew; and its sign, from a free-running clock
    (-x) whose oscillator is 50 ppm fast."""
    c = Clients(t)
    c.at("600.3s", c.ctl_cmd(["-j", "status"], "locked.json"))
    c.at("600.3s", c.ctl_cmd(["status"], "locked.txt"))
    c.at("600.3s", c.ctl_cmd(["-j", "metrics"], "metrics.json"))
    r = c.run(duration="700s")
    st = c.json_output("locked.json")
    t.eq(r, "servo", st["servo"], DEFAULT_SERVO, "the servo key's default")
    t.near(r, "last sample age at 600.3 s", st["last_sample_age_s"], 0.3, 0.01,
           "the poll at 600 s (the first was at 0), less the readings' few microseconds", " s")
    t.near(r, "last sample time", st["last_sample_utc_s"], KVM_START_UTC_S + 600, 0.001,
           "the locked system clock's UNIX time at the poll at 600 s", " s")
    t.eq(r, "samples in the residual's fit", st["freq_window"], 64,
         "the last 64, all while locked")
    t.le(r, "skew while locked", st["freq_skew_ppb"], 1.0,
         "20 ns of noise over 64 s gives about 0.15 ppb", " ppb")
    t.le(r, "|residual frequency| while locked", abs(st["freq_residual_ppb"]),
         4 * st["freq_skew_ppb"] + 0.5, "the servo has taken out the oscillator's error",
         " ppb")
    text = c.output("locked.txt")
    for pattern in (rf"(?m)^Servo\s*: {DEFAULT_SERVO}$",
                    r"(?m)^Last sample\s*: 2025-03-01 12:10:00\.\d UTC, 0\.3 s ago$",
                    r"(?m)^Frequency\s*: -\d+\.\d{3} ppm set on the clock \(uncorrected it "
                    r"runs \d+\.\d{3} ppm fast\)$",
                    r"(?m)^Residual freq\s*: [-+]\d+\.\d{3} ppb, skew \d+\.\d{3} ppb"):
        t.check(r, re.search(pattern, text) is not None, f"status text matches /{pattern}/")
    metrics = c.json_output("metrics.json")["metrics"]
    for pattern in (r'(?m)^phcsync_build_info\{version="[^"]+",features="\+seccomp \+libcap '
                    r'\+netlink"\} 1$',
                    r"(?m)^phcsync_last_update_timestamp_seconds 1740831000(\.0+\d*)?$",
                    r"(?m)^phcsync_disruptions_total 0$",
                    rf'(?m)^phcsync_info\{{.*,servo="{DEFAULT_SERVO}"\}} 1$'):
        t.check(r, re.search(pattern, metrics) is not None, f"metrics match /{pattern}/")

    # Observe-only: the offset grows at the oscillator's +50 ppm, the drift reported as the
    # -50 ppm correction it would need.
    c = Clients(t)
    c.at("300.5s", c.ctl_cmd(["-j", "status"], "observe.json"))
    r = t.run("observe", "kvm.scn", subst=dict(KVM, duration="400s"), args=["-n", "-x"],
              events=c.events, exec_log=True,
              conf=[f"control_socket {c.sock}"])
    st = c.json_output("observe.json")
    # The daemon's seconds are CLOCK_MONOTONIC's, which runs as fast as the oscillator
    # (the offset's rate here): per such second the offset grows by slope / (1 + slope).
    slope = true_slope_ppb(r, 300.5 - st["freq_window"], 300.5)
    truth = slope / (1 + slope * 1e-9)
    t.near(r, "-x: residual frequency", st["freq_residual_ppb"], truth,
           4 * st["freq_skew_ppb"] + 0.5,
           "the true offset's slope over the same samples, near +50000 ppb: positive, the "
           "system clock gains on the PHC", " ppb")
    t.near(r, "-x: frequency (drift) + residual", st["freq_ppb"] + st["freq_residual_ppb"], 0,
           100, "opposite signs: the drift is the adjustment that would cancel the gain "
           "(estimated over a different span; the oscillator wanders 1 ppb/sqrt(s))", " ppb")


def true_slope_ppb(r, since_t, until_t):
    """The least-squares slope of the trace's true offset over [since_t, until_t]."""
    pts = [(k["t"], k["offset_ns"]) for k in r.ticks if since_t <= k["t"] <= until_t]
    mt = mean([p[0] for p in pts])
    mo = mean([p[1] for p in pts])
    return (sum((a - mt) * (b - mo) for a, b in pts) /
            sum((a - mt) ** 2 for a, _ in pts))


@case
def version(t):
    """--version: the version, git describe when built from a git tree, the features."""
    r = t.run("version", "kvm.scn", subst=dict(KVM, duration="10s"), args=["--version"],
              with_conf=False)
    lines = r.stdout.splitlines()
    t.eq(r, "exit status", r.rc, 0, "phcsyncd(8)")
    t.check(r, bool(lines) and re.fullmatch(r"phcsyncd \d+\.\d+\.\d+", lines[0]) is not None,
            f"first line {lines[:1]}", "the project's version")
    source = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    try:
        from_git = subprocess.run(["git", "-C", source, "rev-parse", "--git-dir"],
                                  capture_output=True).returncode == 0
    except FileNotFoundError:  # no git: the build could not ask it either
        from_git = False
    git = [line for line in lines if line.startswith("git: ")]
    t.check(r, len(git) == (1 if from_git else 0),
            f"git line {git} (source is{'' if from_git else ' not'} a git tree)",
            "meson's vcs_tag")
    feats = [line for line in lines if line.startswith("features: ")]
    t.check(r, len(feats) == 1 and all(re.search(rf"[-+]{f}\b", feats[0])
                                       for f in ("seccomp", "libcap", "netlink")),
            f"features line {feats}", "each optional part, + when compiled in")
