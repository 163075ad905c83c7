"""Content-addressed storage of raw messages and attachment files under storage.dir."""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from collections.abc import Iterable

from mailbridge.errors import TransientError


def private_dir(path: Path) -> None:
    """Create a folder (and its missing parents) readable by this user only, whatever the umask:
    strangers' mail, receipts and the ledger are personal data (names, phones, addresses)."""
    missing = []
    for folder in [path, *path.parents]:
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:  # another process made it a moment ago
            pass


class Archive:
    """Files are named by their sha256, so no sender-supplied name ever becomes a path."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def raw_path(self, sha256: str) -> Path:
        return self._path("raw", sha256, ".eml")

    def file_path(self, sha256: str) -> Path:
        return self._path("files", sha256, "")

    def put_raw(self, data: bytes) -> str:
        """Store a message durably (fsynced): the ledger row that names it is committed next."""
        digest = hashlib.sha256(data).hexdigest()
        self._write(self.raw_path(digest), data, durable=True)
        return digest

    def put_kept(self, data: bytes) -> str:
        """Store a file that exists nowhere else (a score entry's evidence), durably like raw mail."""
        digest = hashlib.sha256(data).hexdigest()
        self._write(self.file_path(digest), data, durable=True)
        return digest

    def put_file(self, data: bytes, digest: str | None = None) -> str:
        """Store an attachment; not fsynced, since it can always be cut again from the raw mail."""
        digest = digest or hashlib.sha256(data).hexdigest()
        self._write(self.file_path(digest), data, durable=False)
        return digest

    def put_stream(self, chunks: Iterable[bytes]) -> tuple[str, int]:
        """Store a file given in pieces (a decoded 50 MB attachment never sits in memory whole)."""
        digest, size = hashlib.sha256(), 0
        tmp_dir = self.root / "files"
        try:
            private_dir(tmp_dir)
            fd, tmp = tempfile.mkstemp(dir=tmp_dir, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as out:
                    for chunk in chunks:
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
                path = self.file_path(digest.hexdigest())
                private_dir(path.parent)
                os.replace(tmp, path)
            except BaseException:  # a full disk, a decoding error, the parse deadline: no partial file stays
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise TransientError(
                f"cannot write to the archive {self.root}: {exc.strerror}; free disk space or fix "
                "storage.dir permissions."
            ) from None
        return digest.hexdigest(), size

    def read_raw(self, sha256: str) -> bytes:
        return self.raw_path(sha256).read_bytes()

    def _path(self, kind: str, digest: str, suffix: str) -> Path:
        if len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
            raise ValueError(f"not a sha256 digest: {digest!r}")
        return self.root / kind / digest[:2] / f"{digest}{suffix}"

    def _write(self, path: Path, data: bytes, durable: bool) -> None:
        if path.exists() and path.stat().st_size == len(data):
            return
        try:
            private_dir(path.parent)
            # Write-then-rename (mkstemp creates the file 0600), fsynced: after a crash the file is either whole or absent.
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                    if durable:
                        out.flush()
                        os.fsync(out.fileno())
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise TransientError(
                f"cannot write to the archive {self.root}: {exc.strerror}; free disk space or fix "
                "storage.dir permissions."
            ) from None
