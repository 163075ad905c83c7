"""From a mail landing to its receipt reaching the SMTP server, with `mailbridge run` polling and with IDLE.

    python bench/latency.py            # 5 mails per mode, poll interval 10 s
    python bench/latency.py -n 10 --interval 30

Runs a private Dovecot and an aiosmtpd server (the tests' own, tests/support/), starts the daemon
as a subprocess and APPENDs one mail at a time at a random moment of the poll cycle. Targets:
polling, every receipt within interval + 5 s; IDLE, within 5 s. Exit 1 when one is missed.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE.parent))  # the repository root: mailkit, used by the test helpers

from support.daemon import Daemon
from support.dovecot import Dovecot
from support.fixtures import ImapAccount
from support.mailfactory import make_mail
from support.mbcli import PASSWORD_ENV, Mailbridge, mailbox
from support.smtp import SmtpServer


def measure(root: Path, dovecot: Dovecot, idle: bool, interval: int, count: int) -> list[float]:
    user = f"lat{'idle' if idle else 'poll'}"
    dovecot.add_user(user, "pw")
    account = ImapAccount(dovecot, user, "pw")
    server = SmtpServer("plain")
    mb = Mailbridge(root / user, [mailbox(account, idle=idle)], env={PASSWORD_ENV: "pw"},
                    smtp={"transport": "smtp", "host": "127.0.0.1", "port": server.port, "security": "plain",
                          "max_per_minute": 6000},
                    schedule={"poll_interval_seconds": 3600 if idle else interval})
    daemon = Daemon(mb.argv("run"), mb.root, mb.env)
    out = []
    try:
        daemon.wait_for("waiting for new mail with IDLE" if idle else "mailbridge running", timeout=60)
        for n in range(1, count + 1):
            time.sleep(random.uniform(0, 2 if idle else interval))  # land at any point of the cycle
            start = time.monotonic()
            account.append(make_mail(n, sender=f"unit{n}@163.com"))
            server.wait_for(n, timeout=interval * 3 + 30, match=lambda r: "回执" in str(r.message["Subject"]))
            out.append(time.monotonic() - start)
    finally:
        daemon.stop()
        server.stop()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--count", type=int, default=5)
    parser.add_argument("--interval", type=int, default=10, help="poll_interval_seconds (at least 10)")
    args = parser.parse_args()
    os.environ.pop("MAILBRIDGE_CONFIG", None)
    ok = True
    with tempfile.TemporaryDirectory() as tmp, Dovecot() as dovecot:
        for idle, target in ((False, args.interval + 5), (True, 5)):
            got = measure(Path(tmp), dovecot, idle, args.interval, args.count)
            verdict = "PASS" if max(got) <= target else "FAIL"
            ok &= max(got) <= target
            print(f"{'IDLE' if idle else f'polling every {args.interval}s':18} receipt after "
                  f"median {statistics.median(got):.2f} s, max {max(got):.2f} s over {len(got)} mails "
                  f"[{verdict}: target {target} s]")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
