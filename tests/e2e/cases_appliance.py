# SPDX-License-Identifier: BSD-2-Clause
"""Appliance cases: what systemd is told over NOTIFY_SOCKET (sd_notify)."""

import os
import socket
import threading

from checks import KVM, case


def receive_until_stopping(sock, messages):
    """Read as systemd does, while the daemon runs: a datagram queue holds only a few."""
    sock.settimeout(30)
    try:
        while True:
            messages.append(sock.recv(4096).decode())
            if "STOPPING=1" in messages[-1]:
                return
    except OSError:
        return


@case
def notify(t):
    path = os.path.join(t.work.path, "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    # Ten minutes at a 400 s watchdog: a ping every 200 s of the daemon's monotonic time.
    # Virtual time runs the ten minutes in milliseconds and an AF_UNIX datagram queue holds
    # ten messages (net.unix.max_dgram_qlen), beyond which the daemon drops them rather
    # than wait (MSG_DONTWAIT): the run sends fewer than ten, so none is lost however late
    # this reader runs.
    msgs = []
    reader = threading.Thread(target=receive_until_stopping, args=(sock, msgs))
    reader.start()
    os.environ.update(NOTIFY_SOCKET=path, WATCHDOG_USEC="400000000")
    try:
        r = t.run("notify", "kvm.scn", subst=dict(KVM, duration="10m"))
    finally:
        del os.environ["NOTIFY_SOCKET"], os.environ["WATCHDOG_USEC"]
    reader.join()
    sock.close()
    t.eq(r, "notify: exit status", r.rc, 0, "SIGTERM at the end is a clean exit")
    ready = [m for m in msgs if "READY=1" in m]
    t.eq(r, "notify: READY=1 messages", len(ready), 1, "ready once, after the first sample")
    t.check(r, bool(ready) and "STATUS=/dev/ptp0 " in ready[0],
            f"notify: READY carries the device's status: {ready[:1]}",
            "Type=notify: systemctl status shows what the daemon does")
    t.check(r, any("locked" in m and "READY=1" not in m for m in msgs),
            "notify: a STATUS= line once locked", "every change of state is told")
    t.le(r, "notify: messages in all", len(msgs), 9, "fewer than the queue holds")
    pings = sum(1 for m in msgs if m.strip() == "WATCHDOG=1")
    t.eq(r, "notify: watchdog pings in 600 s", pings, 3,
         "WatchdogSec=400s: a ping at start, at 200 s and at 400 s (half the period)")
    t.check(r, bool(msgs) and msgs[-1].strip() == "STOPPING=1",
            f"notify: last message {msgs[-1:]!r}", "STOPPING=1 on the way out")
