"""What a source hands its mail to: the message's origin, the fingerprint of its bytes, and the
interface of the sink (the pipeline implements it). Sources know nothing more of the pipeline."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from collections.abc import Generator
from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from mailbridge.ledger.db import Database


@dataclass(frozen=True)
class Origin:
    """Where a message was seen. IMAP gives all four keys; imports give mailbox 'import' and a path."""

    mailbox: str
    folder: str
    uidvalidity: int | None = None
    uid: int | None = None
    arrived: datetime | None = None  # IMAP INTERNALDATE: the arrival time the notices count by


@dataclass(frozen=True)
class Fingerprint:
    """What identifies a message's bytes, worked out before the ledger is touched."""

    sha256: str  # of the raw bytes: the archive's name for them
    message_id: str | None
    content_hash: str  # Message-ID and body: equal for one message delivered twice
    size: int


@dataclass
class Outcome:
    """What became of one message: its ledger row, whether the row is new, its disposition."""

    row_id: int
    new: bool
    disposition: str | None
    origin: Origin | None = None


class Sink(Protocol):
    """Takes raw mail: archives it, records it in the ledger and processes it (the pipeline)."""

    db: Database

    def fingerprint(self, raw: bytes, sha: str | None = None) -> Fingerprint: ...

    def ingest_many(self, messages: Iterable[tuple[bytes, Origin, Fingerprint | None]],
                    parallel: bool = True) -> Generator[Outcome, None, None]: ...

    def resume(self, mailbox: str | None = None) -> int: ...
