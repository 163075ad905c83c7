"""systemd's notify protocol (sd_notify(3)): READY, STATUS, WATCHDOG and STOPPING, over $NOTIFY_SOCKET."""
from __future__ import annotations

import os
import socket


def notify(*fields: str) -> bool:
    """Send `KEY=value` lines to systemd; False (and nothing sent) when not run by systemd."""
    path = os.environ.get("NOTIFY_SOCKET")
    if not path:
        return False
    if path.startswith("@"):  # an abstract socket (sd_notify(3))
        path = "\0" + path[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(path)
            sock.sendall("\n".join(fields).encode("utf-8"))
    except OSError:
        return False
    return True


def watchdog_seconds() -> float | None:
    """How often systemd expects a WATCHDOG=1 (half its WatchdogSec=), or None when it expects none."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 1e6 / 2
