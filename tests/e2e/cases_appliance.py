"""Appliance cases: what systemd is told over NOTIFY_SOCKET (sd_notify)."""

import os
import socket
import threading

from e2e import KVM, case


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
    # Ten minutes at a 20 s watchdog: a ping every 10 s of the daemon's monotonic time.
    msgs = []
    reader = threading.Thread(target=receive_until_stopping, args=(sock, msgs))
    reader.start()
    os.environ.update(NOTIFY_SOCKET=path, WATCHDOG_USEC="20000000")
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
    # Virtual time runs ten minutes in milliseconds and a datagram queue holds ten
    # messages: the daemon sends with MSG_DONTWAIT (it never waits on a reader), so some
    # pings may be dropped here; the count can only be bounded.
    pings = sum(1 for m in msgs if m.strip() == "WATCHDOG=1")
    t.check(r, 3 <= pings <= 61, f"notify: watchdog pings in 600 s = {pings} (3..61)",
            "WatchdogSec=20s: a ping at start and every 10 s, none waited for")
    t.check(r, bool(msgs) and msgs[-1].strip() == "STOPPING=1",
            f"notify: last message {msgs[-1:]!r}", "STOPPING=1 on the way out")
