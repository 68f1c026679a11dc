#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""phcsyncctl against a scripted stand-in for the daemon, which answers each connection
with a set line and closes without reading the request, as phcsyncd does when it is busy.

Usage: ctl_client.py PHCSYNCCTL

- "busy" answers are asked again: status and waitsync get through once the daemon has
  room; an answer that stays busy ends in exit 1 with the daemon's words.
- A send that fails with EPIPE or ECONNRESET (the daemon closed first; strace injects the
  error, so the case does not hang on a race) still reads the reply that was sent.
  Without strace these cases are skipped.
Prints TAP; exits 1 if a check failed.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading

BUSY = b'{"ok":false,"version":1,"error":"busy: too many control clients, try again"}\n'
LOCKED = json.dumps({"ok": True, "version": 1, "state": "locked", "servo_state": "locked",
                     "last_offset_ns": 12, "device": "/dev/ptp0"}).encode() + b"\n"
TIMEOUT_S = 30


class Server:
    """Answers connection i with replies[min(i, last)], unread request and all."""

    def __init__(self, path, replies):
        self.replies = replies
        self.connections = 0
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(64)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            reply = self.replies[min(self.connections, len(self.replies) - 1)]
            self.connections += 1
            if reply:
                conn.sendall(reply)
            conn.close()

    def close(self):
        self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self.thread.join(TIMEOUT_S)


n = 0
failed = 0


def check(ok, what):
    global n, failed
    n += 1
    failed += not ok
    print(f"{'ok' if ok else 'not ok'} {n} - {what}", flush=True)


def run(ctl, tmp, replies, args, wrap=()):
    path = os.path.join(tmp, f"s{n}.sock")
    srv = Server(path, replies)
    env = dict(os.environ)
    if wrap:
        # LeakSanitizer cannot run under ptrace (an ASan build's phcsyncctl under strace).
        env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"),
                                                      "detect_leaks=0"]))
    try:
        p = subprocess.run([*wrap, ctl, "-s", path, *args], capture_output=True,
                           timeout=TIMEOUT_S, env=env)
    finally:
        srv.close()
    return p.returncode, p.stdout.decode(), p.stderr.decode(), srv.connections


def main():
    ctl = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix="phcsync-ctl-client.") as tmp:
        rc, out, err, conns = run(ctl, tmp, [BUSY, BUSY, BUSY, LOCKED], ["-j", "status"])
        check(rc == 0 and out.encode() == LOCKED and conns == 4,
              f"status after 3 busy answers: exit {rc}, {conns} connections, {out.strip()!r}")

        rc, out, err, conns = run(ctl, tmp, [BUSY, BUSY, BUSY, LOCKED], ["waitsync", "10"])
        check(rc == 0 and "synchronised" in out and conns == 4,
              f"waitsync after 3 busy answers: exit {rc}, {conns} connections, "
              f"{out.strip()!r} {err.strip()!r}")

        rc, out, err, conns = run(ctl, tmp, [BUSY], ["status"])
        check(rc == 1 and "busy" in err and "stopping" not in err and conns > 1,
              f"always busy: exit {rc} after {conns} tries, {err.strip()!r}")

        rc, out, err, conns = run(ctl, tmp, [BUSY], ["waitsync", "1"])
        check(rc == 1 and "busy" in err and conns > 1,
              f"waitsync 1, always busy: exit {rc} after {conns} tries, {err.strip()!r}")

        strace = shutil.which("strace")
        for e in ("EPIPE", "ECONNRESET"):
            if not strace:
                print(f"ok {n + 1} # SKIP strace is missing ({e} cases)")
                continue
            wrap = [strace, "-f", "-qq", "-o", "/dev/null", "-e", "trace=sendto",
                    "-e", f"inject=sendto:error={e}"]
            rc, out, err, conns = run(ctl, tmp, [LOCKED], ["-j", "status"], wrap)
            check(rc == 0 and out.encode() == LOCKED,
                  f"send fails with {e}, the reply was sent: exit {rc}, {out.strip()!r} "
                  f"{err.strip()!r}")
            rc, out, err, conns = run(ctl, tmp, [BUSY, LOCKED], ["-j", "status"], wrap)
            check(rc == 0 and out.encode() == LOCKED and conns == 2,
                  f"send fails with {e} on a busy daemon: asked again, exit {rc}, "
                  f"{conns} connections, {err.strip()!r}")
            rc, out, err, conns = run(ctl, tmp, [b""], ["status"], wrap)
            check(rc == 2 and "stopping?" in err,
                  f"send fails with {e} and no reply: exit {rc}, {err.strip()!r}")
    print(f"1..{n}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
