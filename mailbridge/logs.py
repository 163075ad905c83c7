"""Logging to stderr, one line per event; under journald without a second timestamp."""
from __future__ import annotations

import logging
import os
import sys

# sd-daemon(3) priority prefixes: journald reads "<3>" as err, "<4>" as warning, and so on.
_PRIORITY = {logging.CRITICAL: 2, logging.ERROR: 3, logging.WARNING: 4, logging.INFO: 6, logging.DEBUG: 7}


class JournalFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        prefix = f"<{_PRIORITY.get(record.levelno, 6)}>"
        # A traceback goes out as continuation lines of the same priority.
        return "\n".join(prefix + line for line in super().format(record).splitlines())


def setup(verbose: int) -> None:
    """WARNING by default (-v info, -vv debug); mailbridge's own events at INFO for the daemon."""
    handler = logging.StreamHandler(sys.stderr)
    if os.environ.get("JOURNAL_STREAM"):  # stderr is the journal: it stamps time, host and pid itself
        handler.setFormatter(JournalFormatter("%(name)s: %(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING - 10 * min(verbose, 2))


def daemon_events() -> None:
    """The daemon says what it does (polls, mail sent, incidents) even without -v."""
    own = logging.getLogger("mailbridge")
    if own.getEffectiveLevel() > logging.INFO:
        own.setLevel(logging.INFO)
