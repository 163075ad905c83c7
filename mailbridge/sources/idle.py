"""IMAP IDLE (RFC 2177): wake the poller within seconds of new mail, where the server offers it.

IDLE only says "something arrived"; the poll that follows does the fetching, so a missed or
spurious wake-up costs nothing but a poll. 163 has no IDLE (FIELD-NOTES.md); there the interval
poll is all there is.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from mailbridge.config import MailboxConfig
from mailbridge.errors import MailbridgeError
from mailbridge.sources.imap import NETWORK_ERRORS, close, connect

log = logging.getLogger(__name__)
# RFC 2177: a server may log a client off after 30 minutes of inactivity; re-issue IDLE well before.
RENEW_SECONDS = 20 * 60
CHECK_SECONDS = 1.0  # how quickly a stop request is noticed
RETRY_SECONDS = 30.0


class IdleWatcher(threading.Thread):
    """Holds one IDLE connection on the mailbox's first folder and calls `wake` on new mail."""

    def __init__(self, box: MailboxConfig, wake: Callable[[], None], stop: threading.Event) -> None:
        super().__init__(name=f"idle-{box.name}", daemon=True)
        self.box = box
        self.wake = wake
        self.stop = stop
        self.supported: bool | None = None  # None until the first connection tells

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                if not self._watch():
                    return  # no IDLE here: polling only
            except (MailbridgeError, *NETWORK_ERRORS) as exc:
                # The poll job reports mailbox errors; IDLE only retries quietly.
                log.info("mailbox %s: IDLE connection lost (%s); retrying in %ds", self.box.name, exc, RETRY_SECONDS)
            self.stop.wait(RETRY_SECONDS)

    def _watch(self) -> bool:
        client = connect(self.box)
        try:
            if not client.has_capability("IDLE"):
                self.supported = False
                log.warning("mailbox %s: idle = true, but the server has no IDLE; polling every interval",
                            self.box.name)
                return False
            self.supported = True
            client.select_folder(self.box.folders[0], readonly=True)
            log.info("mailbox %s: waiting for new mail with IDLE", self.box.name)
            while not self.stop.is_set():
                client.idle()
                renew_at = time.monotonic() + RENEW_SECONDS
                news = False
                while not self.stop.is_set() and time.monotonic() < renew_at and not news:
                    news = any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT")
                               for r in client.idle_check(timeout=CHECK_SECONDS))
                client.idle_done()
                if news:
                    self.wake()
            return True
        finally:
            close(client)
