#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Abuse phcsyncd's control socket, then ask for a well-formed status.

Usage: ctl_abuse.py SOCKET

Run by test_ctl.py as a simulator exec event, so virtual time stands while it runs (the
daemon's 2 s client timeout cannot fire): it checks what the daemon answers, not when.
In turn: 200 clients connect at once and never send (16 are held, the rest are told
"busy"), then leave; a 1 MiB request; binary junk; a client that asks for the metrics and
disconnects without reading; and last a status request, which must be answered. Prints
one line per step and exits 0 when every answer was as documented in phcsyncctl(8).
"""

import json
import socket
import sys

CLIENTS = 200
HELD = 16  # CTL_MAX_CLIENTS
TIMEOUT_S = 10  # real seconds for any one reply; the daemon answers at once
BUSY_RETRIES = 1000  # a just-closed client may still hold a slot: "busy" means retry


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


def ask(path, request):
    """Send request and return the parsed reply, retrying while the daemon is busy."""
    for _ in range(BUSY_RETRIES):
        s = connect(path)
        try:
            s.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused mid-request: the reply, if any, is still to be read
        raw = read_reply(s)
        s.close()
        reply = json.loads(raw) if raw else None
        if not (reply and not reply["ok"] and reply["error"].startswith("busy")):
            return raw, reply
    raise RuntimeError(f"still busy after {BUSY_RETRIES} tries")


def main():
    path = sys.argv[1]
    failures = []

    def expect(ok, what):
        print(f"{'ok' if ok else 'FAIL'}: {what}")
        if not ok:
            failures.append(what)

    # 200 at once, none sending: the daemon holds 16 and turns the others away.
    idle = [connect(path) for _ in range(CLIENTS)]
    busy = 0
    for s in idle[HELD:]:
        raw = read_reply(s)
        busy += b'"busy' in raw
    expect(busy == CLIENTS - HELD, f"{busy} of {CLIENTS - HELD} clients beyond {HELD} told busy")
    for s in idle:
        s.close()

    raw, reply = ask(path, b"x" * (1 << 20))
    expect(reply is not None and reply["ok"] is False, f"1 MiB request refused: {raw[:80]!r}")

    raw, reply = ask(path, bytes(range(256)) * 4 + b"\n")
    expect(reply is not None and reply["ok"] is False, f"binary junk refused: {raw[:80]!r}")

    # Ask for the largest reply and vanish: the daemon must drop the client quietly.
    s = connect(path)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    s.sendall(b"metrics\n")
    s.close()

    raw, reply = ask(path, b"status\n")
    expect(reply is not None and reply["ok"] is True and "state" in reply,
           f"status answered: state {reply and reply.get('state')}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
