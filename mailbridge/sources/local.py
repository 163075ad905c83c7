"""Local mail: .eml files, Maildir folders and mbox files (back-fills and webmail exports)."""
from __future__ import annotations

import mailbox
from pathlib import Path
from collections.abc import Iterator
from typing import Literal, overload

from mailbridge.errors import ConfigError

_MAIL_SUFFIXES = {".eml", ".mbox", ".mbx", ".mbs"}


@overload
def messages(paths: list[Path], read: Literal[True] = True) -> Iterator[tuple[str, bytes]]: ...
@overload
def messages(paths: list[Path], read: bool) -> Iterator[tuple[str, bytes | None]]: ...
def messages(paths: list[Path], read: bool = True) -> Iterator[tuple[str, bytes | None]]:
    """(where it came from, raw bytes) for every message under the paths, in a stable order.

    With read=False only counts are wanted: the bytes are not loaded (for the progress bar).
    """
    for path in paths:
        if not path.exists():
            raise ConfigError(f"{path} does not exist; give .eml files, Maildir folders or mbox files.")
        if path.is_dir() and all((path / sub).is_dir() for sub in ("cur", "new", "tmp")):
            box = mailbox.Maildir(str(path), factory=None, create=False)
            for key in sorted(box.keys()):  # Maildir names start with the delivery time
                yield str(path), box.get_bytes(key) if read else None
        elif path.is_dir():
            children = [c for c in sorted(path.iterdir())
                        if not c.name.startswith(".") or c.suffix.lower() in _MAIL_SUFFIXES]
            yield from messages([c for c in children if c.is_dir() or _is_mail_file(c)], read)
        elif path.suffix.lower() != ".eml" and _is_mbox(path):  # an .eml may open with a From_ line
            mbox = mailbox.mbox(str(path), create=False)
            try:
                for key in mbox.iterkeys():
                    yield str(path), mbox.get_bytes(key) if read else None
            finally:
                mbox.close()
        else:
            yield str(path), path.read_bytes() if read else None


def _is_mail_file(path: Path) -> bool:
    return path.is_file() and (path.suffix.lower() in _MAIL_SUFFIXES or _is_mbox(path))


def _is_mbox(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(5) == b"From "
