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


def notify_run(t, label, scenario, watchdog_usec=None, **kw):
    """Run the daemon with NOTIFY_SOCKET set; return the run and the messages received."""
    path = os.path.join(t.work.path, f"{label}.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    msgs = []
    reader = threading.Thread(target=receive_until_stopping, args=(sock, msgs))
    reader.start()
    env = {"NOTIFY_SOCKET": path}
    if watchdog_usec:
        env["WATCHDOG_USEC"] = watchdog_usec
    os.environ.update(env)
    try:
        r = t.run(label, scenario, **kw)
    finally:
        for k in env:
            del os.environ[k]
    reader.join()
    sock.close()
    return r, msgs


@case
def notify(t):
    # Ten minutes at a 400 s watchdog: a ping every 200 s of the daemon's monotonic time.
    # Virtual time runs the ten minutes in milliseconds and an AF_UNIX datagram queue holds
    # ten messages (net.unix.max_dgram_qlen), beyond which the daemon drops them rather
    # than wait (MSG_DONTWAIT): the run sends fewer than ten, so none is lost however late
    # this reader runs.
    r, msgs = notify_run(t, "notify", "kvm.scn", watchdog_usec="400000000",
                         subst=dict(KVM, duration="10m"))
    t.eq(r, "notify: exit status", r.rc, 0, "SIGTERM at the end is a clean exit")
    ready = [m for m in msgs if "READY=1" in m]
    t.eq(r, "notify: READY=1 messages", len(ready), 1, "ready once")
    t.check(r, bool(ready) and "STATUS=/dev/ptp0 stepping, offset +15" in ready[0],
            f"notify: READY after the start-up step, with the device's status: {ready[:1]}",
            "the clock starts 1.5 s off: units ordered after phcsyncd.service must not "
            "start before it is stepped (Type=notify: systemctl status shows the state)")
    t.check(r, not any("unlocked" in m for m in msgs),
            "notify: nothing told while unlocked", "READY=1 waits for the start-up decision")
    t.check(r, any("locked" in m and "READY=1" not in m for m in msgs),
            "notify: a STATUS= line once locked", "every change of state is told")
    t.le(r, "notify: messages in all", len(msgs), 9, "fewer than the queue holds")
    pings = sum(1 for m in msgs if m.strip() == "WATCHDOG=1")
    t.eq(r, "notify: watchdog pings in 600 s", pings, 3,
         "WatchdogSec=400s: a ping at start, at 200 s and at 400 s (half the period)")
    t.check(r, bool(msgs) and msgs[-1].strip() == "STOPPING=1",
            f"notify: last message {msgs[-1:]!r}", "STOPPING=1 on the way out")

    # No PHC (wait_for_device yes, the default): ready at once, saying what it waits for.
    r, msgs = notify_run(t, "notify-nophc", "nophc.scn")
    ready = [m for m in msgs if "READY=1" in m]
    t.check(r, len(ready) == 1 and ready[0] == "READY=1\nSTATUS=waiting for the PHC",
            f"notify: without a PHC, READY=1 once: {ready!r}",
            "a missing device must not hold the boot until systemd's start timeout")
