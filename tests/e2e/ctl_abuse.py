#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Abuse phcsyncd's control socket, then ask for a well-formed status.

Usage: ctl_abuse.py SOCKET [--ctl PHCSYNCCTL] [--steps STEP,...]

Run by cases_ctl.py as a simulator exec event, so virtual time stands while it runs (the
daemon's 2 s client timeout cannot fire): it checks what the daemon answers, not when,
and every answer it gets comes at the simulated time of the event. The steps, in turn:

  flood      200 clients connect at once and never send: each is displaced ("busy") by
             the 16th newer one, so the last 16 are held; then all leave
  huge       a 1 MiB request
  junk       binary junk
  vanish     a client that asks for the metrics and disconnects without reading
  slowloris  16 clients hold every slot with part of a line and come back with part of a
             line whenever they are dropped; meanwhile 40 status requests (every other
             one by phcsyncctl, with --ctl) must each be answered at the first try
  status     a status request, which must be answered

Prints one line per check and exits 0 when every answer was as documented in
phcsyncctl(8).
"""

import argparse
import json
import socket
import subprocess
import sys
import time

CLIENTS = 200
HELD = 16  # CTL_MAX_CLIENTS
SLOW_ROUNDS = 40
TIMEOUT_S = 10  # real seconds for any one reply; the daemon answers at once
BUSY_RETRIES = 1000  # a just-closed client may still hold a slot: "busy" means retry
STEPS = ("flood", "huge", "junk", "vanish", "slowloris", "status")


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(TIMEOUT_S)
    s.connect(path)
    return s


def read_reply(s):
    """The daemon's one-line reply, until it closes; b"" if it closed without one."""
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data


def closed_now(s):
    """Without waiting: (True, what was sent) if the daemon has closed s, else (False, b"")."""
    data = b""
    s.settimeout(0)
    try:
        while True:
            try:
                chunk = s.recv(65536)
            except BlockingIOError:
                return False, data
            except ConnectionResetError:
                return True, data
            if not chunk:
                return True, data
            data += chunk
    finally:
        s.settimeout(TIMEOUT_S)


def is_busy(raw):
    try:
        reply = json.loads(raw)
    except ValueError:
        return False
    return reply.get("ok") is False and reply.get("error", "").startswith("busy")


def ask_once(path, request):
    s = connect(path)
    try:
        s.sendall(request)
    except (BrokenPipeError, ConnectionResetError):
        pass  # refused mid-request: the reply, if any, is still to be read
    raw = read_reply(s)
    s.close()
    return raw, json.loads(raw) if raw else None


def ask(path, request):
    """Send request and return the parsed reply, retrying while the daemon is busy."""
    for _ in range(BUSY_RETRIES):
        raw, reply = ask_once(path, request)
        if not is_busy(raw):
            return raw, reply
    raise RuntimeError(f"still busy after {BUSY_RETRIES} tries")


def slow_client(path):
    s = connect(path)
    s.sendall(b"stat")
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("socket")
    ap.add_argument("--ctl", help="phcsyncctl, for every other slowloris-step request")
    ap.add_argument("--steps", default=",".join(STEPS))
    args = ap.parse_args()
    path, steps = args.socket, args.steps.split(",")
    failures = []

    def expect(ok, what):
        print(f"{'ok' if ok else 'FAIL'}: {what}", flush=True)
        if not ok:
            failures.append(what)

    if "flood" in steps:
        # 200 at once, none sending: client k is displaced when client k + 16 arrives, so
        # reading the first 184 in order waits for nothing but the daemon's accepts.
        idle = [connect(path) for _ in range(CLIENTS)]
        busy = sum(is_busy(read_reply(s)) for s in idle[:CLIENTS - HELD])
        expect(busy == CLIENTS - HELD,
               f"{busy} of the first {CLIENTS - HELD} silent clients displaced (busy)")
        held = sum(not closed_now(s)[0] for s in idle[CLIENTS - HELD:])
        expect(held == HELD, f"{held} of the last {HELD} silent clients held")
        for s in idle:
            s.close()

    if "huge" in steps:
        raw, reply = ask(path, b"x" * (1 << 20))
        expect(reply is not None and reply["ok"] is False, f"1 MiB request refused: {raw[:80]!r}")

    if "junk" in steps:
        raw, reply = ask(path, bytes(range(256)) * 4 + b"\n")
        expect(reply is not None and reply["ok"] is False, f"binary junk refused: {raw[:80]!r}")

    if "vanish" in steps:
        # Ask for the largest reply and vanish: the daemon must drop the client quietly.
        s = connect(path)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        s.sendall(b"metrics\n")
        s.close()

    if "slowloris" in steps:
        slow = [slow_client(path) for _ in range(HELD)]
        answered = by_ctl = dropped = told = 0
        worst_s = 0.0
        for i in range(SLOW_ROUNDS):
            start = time.monotonic()
            if args.ctl and i % 2:
                p = subprocess.run([args.ctl, "-s", path, "-j", "status"],
                                   capture_output=True, timeout=TIMEOUT_S)
                raw = p.stdout
                by_ctl += 1
            else:
                raw, _ = ask_once(path, b"status\n")
            worst_s = max(worst_s, time.monotonic() - start)
            try:
                answered += json.loads(raw)["ok"] is True
            except (ValueError, KeyError):
                print(f"round {i}: {raw[:80]!r}")
            # Whoever was dropped comes back at once, with part of a line again.
            for k, s in enumerate(slow):
                gone, raw = closed_now(s)
                if gone:
                    dropped += 1
                    told += is_busy(raw)
                    s.close()
                    slow[k] = slow_client(path)
        expect(answered == SLOW_ROUNDS,
               f"slowloris: {answered} of {SLOW_ROUNDS} status requests answered at the first "
               f"try ({by_ctl} by phcsyncctl); slowest {worst_s:.3f} s real, 0 s simulated")
        expect(dropped == SLOW_ROUNDS,
               f"slowloris: {dropped} slow clients dropped, one for each request")
        expect(told == dropped, f"slowloris: {told} of {dropped} dropped told busy")
        held = sum(not closed_now(s)[0] for s in slow)
        expect(held == HELD, f"slowloris: {held} of {HELD} slow clients still held")
        for s in slow:
            s.close()

    if "status" in steps:
        raw, reply = ask(path, b"status\n")
        expect(reply is not None and reply["ok"] is True and "state" in reply,
               f"status answered: state {reply and reply.get('state')}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
