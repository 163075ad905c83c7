"""The bounds of one parse: its deadline, and how much text it may read and keep (issue 10).

Anyone can write to the mailbox, so no input may make a parse slow or big: each parse runs inside
`parsing()`, which sets a deadline (a SIGALRM raising `ParseTimeout`, in the main thread of this
process or of the parse worker, whose parent also kills it a little later) and publishes the text
caps to the parsers, which read them with `current()`. External converters share one time budget
per message (`converter_seconds`), a part of the deadline, so a hanging tool costs its document,
not the whole mail.
"""
from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

DEFAULT_MAX_TEXT_CHARS = 1_000_000
INPUT_PER_TEXT = 4  # an input (HTML, a .txt, a converter's output) may be this many times the text cap
CONVERTER_SHARE = 0.75  # of the deadline, for all the converters of one message together
TOO_LONG = "parse took too long"


class ParseTimeout(BaseException):
    """The deadline passed. A BaseException: the `except Exception` of a parser must not eat it."""


@dataclass
class Bounds:
    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS
    timeout: float | None = None  # seconds for the whole parse of one message
    started: float = field(default_factory=time.monotonic)
    cut: set[str] = field(default_factory=set)  # what was cut short: "body" (HTML), "text" (a text)

    @property
    def max_input_chars(self) -> int:
        return self.max_text_chars * INPUT_PER_TEXT

    def converter_seconds(self, cap: float) -> float:
        """Seconds the next converter may run: what is left of the message's converter budget."""
        if self.timeout is None:
            return cap
        left = self.started + self.timeout * CONVERTER_SHARE - time.monotonic()
        return max(0.0, min(cap, left))


# Per thread (a daemon polls its mailboxes in scheduler threads): each parse sees its own bounds.
_current: ContextVar[Bounds | None] = ContextVar("parse_bounds", default=None)


def current() -> Bounds:
    """The bounds of the parse in progress; outside one, the defaults (nothing is recorded)."""
    return _current.get() or Bounds()


def _raise_timeout(signum: int, frame: object) -> None:
    raise ParseTimeout(TOO_LONG)


@contextmanager
def parsing(max_text_chars: int = DEFAULT_MAX_TEXT_CHARS, timeout: float | None = None) -> Iterator[Bounds]:
    """Bounds for the parse of one message; raises ParseTimeout when `timeout` seconds pass.

    The alarm is a signal, so it works only in the main thread; elsewhere (a scheduler thread) the
    caps still hold and the parse worker's parent enforces the deadline by killing it.
    """
    bounds = Bounds(max_text_chars, timeout)
    token = _current.set(bounds)
    armed = timeout is not None and threading.current_thread() is threading.main_thread()
    if armed and timeout is not None:
        old_handler = signal.signal(signal.SIGALRM, _raise_timeout)
        signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        yield bounds
    finally:
        if armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old_handler)
        _current.reset(token)
