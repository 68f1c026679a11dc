# SPDX-License-Identifier: BSD-2-Clause
"""The control socket end to end: phcsyncctl and other clients run at chosen simulated
times by the simulator's exec events, against the daemon on scenarios/kvm.scn.

Virtual time stands while a client runs, so what it sees is what the daemon knew at that
time, the same in every run. Each client writes its output to a file of its own in the
work directory; its exit status goes to the trace (an exec event).
"""

import json
import os
import re
import shlex
import shutil
import sys

import phcsim
from checks import DEFAULT_SERVO, KVM, KVM_NOISE_NS, case

HERE = os.path.dirname(os.path.abspath(__file__))
READINGS = 5  # readings per poll, set in the configuration
# A status reports the offset measured at the daemon's last update. The truth then is the
# trace's offset at that update's first clock_adjtime call, less the step it took (the
# call follows the reading by microseconds: under 1 ns of drift at 50 ppm). The two may
# differ by the reading's noise, which the reported error bound does not include: allow
# 4 sigma of it.
OFFSET_MARGIN_NS = 4 * KVM_NOISE_NS


class Clients:
    """The exec events of one case's runs, and what the clients left behind."""

    def __init__(self, t):
        self.t = t
        self.ctl = t.harness.ctl
        self.sock = self.path("s.sock")
        self.events = []

    def path(self, name):
        return os.path.join(self.t.work.path, name)

    def ctl_cmd(self, args, out, sock=None):
        """A phcsyncctl command line; its stdout goes to the file out."""
        argv = [self.ctl, "-s", sock or self.sock] + args
        return f"{shlex.join(argv)} >{shlex.quote(self.path(out))}"

    def at(self, when, command):
        self.events.append(f"at {when} exec {command}")

    def run(self, duration="700s", conf=()):
        """The daemon on the KVM scenario with the clients (files ctl.*); the run, with its
        exec records as execs."""
        r = self.t.run("ctl", "kvm.scn", subst=dict(KVM, duration=duration),
                       events=self.events, exec_log=True,
                       conf=[f"control_socket {self.sock}", f"readings {READINGS}", *conf])
        r.execs = [e for e in r.events if e["event"] == "exec"]
        self.t.check(r, r.rc == 0, f"daemon exit status {r.rc}")
        self.t.check(r, len(r.execs) == len(self.events),
                     f"{len(r.execs)} of {len(self.events)} exec events ran")
        return r

    def output(self, name):
        with open(self.path(name)) as f:
            return f.read()

    def json_output(self, name):
        return json.loads(self.output(name))


def exec_at(r, needle):
    """The exec record whose command contains needle."""
    found = [e for e in r.execs if needle in e["command"]]
    if not found:
        raise AssertionError(f"no exec event with {needle!r} in the trace")
    return found[0]


def truth_of_last_update(r, t):
    """The true offset when the daemon took its last sample before t (see the top)."""
    before = [a for a in r.adjs if a["t"] <= t]
    first = next(a for a in before if a["t"] == before[-1]["t"])
    return first["offset_ns"] - first.get("step_ns", 0), first["t"]


@case
def ctl_status(t):
    """Status while converging (before the first step, just after it, at 5 s) and when
    locked (600 s): state, offset against the truth, device, readout and steps."""
    c = Clients(t)
    times = {"0.5s": "unlocked", "1.5s": "stepping", "5s": "locked", "600s": "locked"}
    for when in times:
        c.at(when, c.ctl_cmd(["-j", "status"], f"status-{when}.json"))
    c.at("600s", c.ctl_cmd(["status"], "status-600s.txt"))
    r = c.run()
    for when, state in times.items():
        e = exec_at(r, f"status-{when}.json")
        st = c.json_output(f"status-{when}.json")
        truth, t_update = truth_of_last_update(r, e["t"])
        err = st["last_offset_ns"] - truth
        bound = st["error_bound_ns"] + OFFSET_MARGIN_NS
        steps = len([a for a in r.steps() if a["t"] <= e["t"]])
        t.check(r, e["status"] == 0, f"at {when}: phcsyncctl exit {e['status']}")
        t.check(r, st["ok"] is True and st["state"] == state,
                f"at {when}: state {st['state']} (want {state}), servo {st['servo_state']}")
        t.check(r, abs(err) <= bound,
                f"at {when}: last offset {st['last_offset_ns']} ns, truth at the update at "
                f"{t_update:.6f} s {truth} ns: |error| {abs(err)} <= {bound} ns "
                f"(error bound {st['error_bound_ns']} + {OFFSET_MARGIN_NS})")
        t.check(r, st["device"] == "/dev/ptp0" and st["clock_name"] == "KVM virtual PTP" and
                st["readout"] == "precise",
                f"at {when}: {st['device']} '{st['clock_name']}' readout {st['readout']}")
        t.check(r, st["steps"] == steps, f"at {when}: steps {st['steps']}, trace {steps}")
    locked = c.json_output("status-600s.json")
    t.check(r, locked["stable"] is True and abs(locked["rms_offset_ns"]) < 3 * KVM_NOISE_NS,
            f"at 600s: stable {locked['stable']}, rms {locked['rms_offset_ns']:.1f} ns "
            f"< {3 * KVM_NOISE_NS} ns")
    text = c.output("status-600s.txt")
    t.check(r, re.search(r"(?im)^\s*state\s*:\s*locked", text) is not None,
            "human status says the state is locked")
    # Clients do not make a run less reproducible: same trace, same replies.
    replies = [f"status-{when}.json" for when in times]
    first = [r.trace_text] + [c.output(n) for n in replies]
    again = c.run()
    t.check(again, first == [again.trace_text] + [c.output(n) for n in replies],
            "a second run gives the same trace and replies, byte for byte")


# Metrics.

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



@case
def ctl_metrics(t):
    """metrics is valid Prometheus text that agrees with status; phcsync_state is
    one-hot on the state status reports."""
    c = Clients(t)
    for when in ("1.5s", "600s"):
        c.at(when, c.ctl_cmd(["-j", "status"], f"status-{when}.json"))
        c.at(when, c.ctl_cmd(["metrics"], f"metrics-{when}.prom"))
        c.at(when, c.ctl_cmd(["-j", "metrics"], f"metrics-{when}.json"))
    r = c.run()
    for when in ("1.5s", "600s"):
        text = c.output(f"metrics-{when}.prom")
        st = c.json_output(f"status-{when}.json")
        try:
            fams = parse_prometheus(text)
            t.check(r, True, f"at {when}: {len(fams)} families, "
                    f"{sum(len(f['samples']) for f in fams.values())} samples parse")
        except ValueError as e:
            t.check(r, False, f"at {when}: metrics do not parse: {e}")
            continue
        t.check(r, all(n.startswith("phcsync_") for n in fams),
                f"at {when}: all names phcsync_*")
        state = fams.get("phcsync_state", {"samples": []})["samples"]
        ones = [lab["state"] for lab, v in state if v == 1]
        t.check(r, len(ones) == 1 and all(v in (0, 1) for _, v in state) and
                ones[0] == st["state"] and len(state) >= 5,
                f"at {when}: phcsync_state one-hot on {ones} of "
                f"{[lab['state'] for lab, _ in state]}, status {st['state']}")
        off = fams["phcsync_offset_seconds"]["samples"][0][1]
        t.check(r, round(off * 1e9) == st["last_offset_ns"],
                f"at {when}: phcsync_offset_seconds {off!r} = {st['last_offset_ns']} ns")
        steps = fams["phcsync_steps_total"]["samples"][0][1]
        t.check(r, steps == st["steps"] and fams["phcsync_steps_total"]["type"] == "counter",
                f"at {when}: phcsync_steps_total {steps} (counter) = steps {st['steps']}")
        info = fams["phcsync_info"]["samples"][0][0]
        t.check(r, info == {"device": "/dev/ptp0", "clock_name": "KVM virtual PTP",
                            "readout": "precise", "servo": DEFAULT_SERVO},
                f"at {when}: phcsync_info {info}")
        wrapped = c.json_output(f"metrics-{when}.json")
        t.check(r, wrapped["ok"] is True and wrapped["metrics"] == text,
                f"at {when}: -j metrics carries the same text")


@case
def ctl_waitsync(t):
    """waitsync: 0 after lock; 1 before lock with a short timeout (time stands while it
    waits, so the daemon cannot lock meanwhile); 2 without a daemon."""
    c = Clients(t)
    c.at("0.5s", c.ctl_cmd(["waitsync", "0.5"], "early.out") + " 2>&1")
    c.at("600s", c.ctl_cmd(["-j", "waitsync", "10"], "late.json"))
    c.at("600s", c.ctl_cmd(["waitsync", "1"], "none.out", sock=c.path("nope.sock")) + " 2>&1")
    r = c.run()
    early = exec_at(r, "early.out")
    t.check(r, early["status"] == 1, f"waitsync 0.5 at 0.5 s: exit {early['status']} "
            f"(want 1): {c.output('early.out').strip()!r}")
    late = exec_at(r, "late.json")
    st = c.json_output("late.json")
    t.check(r, late["status"] == 0 and st["state"] == "locked",
            f"waitsync 10 at 600 s: exit {late['status']}, state {st['state']}, "
            f"last offset {st['last_offset_ns']} ns")
    none = exec_at(r, "none.out")
    t.check(r, none["status"] == 2, f"waitsync on a missing socket: exit {none['status']}: "
            f"{c.output('none.out').strip()!r}")


@case
def ctl_robust(t):
    """A client storm at 30 s (200 silent at once, 1 MiB, junk, a disconnect mid-reply,
    16 slowloris clients that must not keep 40 status requests out, then a status that
    must be answered); afterwards no missed poll in the trace and the daemon still
    answers."""
    c = Clients(t)
    abuse = [sys.executable, os.path.join(HERE, "ctl_abuse.py"), c.sock, "--ctl", c.ctl]
    c.at("30.5s", f"{shlex.join(abuse)} >{shlex.quote(c.path('abuse.out'))} 2>&1")
    c.at("60.5s", c.ctl_cmd(["-j", "status"], "after.json"))
    r = c.run(duration="70s")
    e = exec_at(r, "ctl_abuse.py")
    t.check(r, e["status"] == 0, f"abuse script exit {e['status']}:\n# " +
            c.output("abuse.out").strip().replace("\n", "\n# "))
    after = exec_at(r, "after.json")
    st = c.json_output("after.json")
    t.check(r, after["status"] == 0 and st["state"] == "locked",
            f"status at 60.5 s: exit {after['status']}, state {st['state']}, "
            f"updates {st['updates']}")
    # From lock on, one tick a second and READINGS PHC reads each: no poll missed or
    # doubled around the storm.
    ticks = [k for k in r.ticks if k["t"] >= 10]
    gaps = [b["t"] - a["t"] for a, b in zip(ticks, ticks[1:])]
    reads = [b["phc_reads"] - a["phc_reads"] for a, b in zip(ticks, ticks[1:])]
    t.check(r, len(ticks) == 61 and all(g == 1 for g in gaps),
            f"{len(ticks)} ticks from 10 s to 70 s, gaps {sorted(set(gaps))}")
    t.check(r, all(n == READINGS for n in reads),
            f"PHC reads per second from 10 s: {sorted(set(reads))} (want {READINGS})")
    t.check(r, r.rc == 0 and "exiting on signal" in r.stderr,
            "daemon ran to the end of the scenario")


@case
def ctl_perm(t):
    """nobody, in control_group, may ask for status but not step: an error, no step."""
    if os.geteuid() != 0:
        raise phcsim.Skip("switching the client to nobody (setpriv) needs root")
    if not shutil.which("setpriv"):
        raise phcsim.Skip("setpriv (util-linux) is missing")
    c = Clients(t)
    os.chmod(t.work.path, 0o755)
    # nobody must be able to run the client, wherever the build tree is.
    c.ctl = c.path("phcsyncctl")
    shutil.copy(t.harness.ctl, c.ctl)
    os.chmod(c.ctl, 0o755)
    nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    for what in ("status", "step"):
        c.at("20s", f"{shlex.join(nobody)} {c.ctl_cmd([what], f'{what}-out.txt')} "
             f"2>{shlex.quote(c.path(f'{what}-err.txt'))}")
    r = c.run(duration="40s", conf=["control_group nogroup"])
    status = exec_at(r, "status-out.txt")
    t.check(r, status["status"] == 0, f"status as nobody: exit {status['status']} "
            f"{c.output('status-err.txt').strip()!r}")
    step = exec_at(r, "step-out.txt")
    err = c.output("step-err.txt").strip()
    t.check(r, step["status"] == 1 and "permission denied" in err,
            f"step as nobody: exit {step['status']}, {err!r}")
    late = [a for a in r.adjs if a["t"] >= step["t"] and "step_ns" in a]
    t.check(r, not late, f"steps at or after {step['t']} s: {len(late)}")
    t.check(r, re.search(r"step refused to uid 65534", r.stderr) is not None,
            "daemon logged the refusal")


@case
def ctl_second(t):
    """A second phcsyncd on a live control socket exits 1 with a message; the first
    keeps serving."""
    c = Clients(t)
    # The second daemon runs under its own phcsim too, never bare.
    second = t.harness.phcsim_argv(c.path("ctl.scn"), None, ["-n", "-f", c.path("ctl.conf")],
                                   duration_s=5)
    c.at("10s", f"{shlex.join(second)} >{shlex.quote(c.path('second.log'))} 2>&1")
    c.at("10s", c.ctl_cmd(["-j", "status"], "first.json"))
    r = c.run(duration="20s")
    e = exec_at(r, "second.log")
    log = c.output("second.log").strip()
    t.check(r, e["status"] == 1, f"second daemon exit {e['status']}")
    t.check(r, re.search(r"(?i)in use|already|running", log) is not None,
            f"second daemon says why: {log.splitlines()[-1] if log else ''!r}")
    st = c.json_output("first.json")
    t.check(r, st["ok"] is True and os.path.exists(c.sock) is False,
            f"first daemon still answers (state {st['state']}) and removed its socket "
            "at exit")
