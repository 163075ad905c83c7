"""Zip packages (.docx .xlsx .odt) read without trusting the sizes their headers declare.

`ZipFile.read()` inflates a member in one call with no output limit: a 1.5 MB .docx whose headers
lie about sizes reached 2.1 GB before the CRC check. Here members are inflated in bounded chunks
and every count is of bytes actually produced (issue 10).
"""
from __future__ import annotations

import io
import struct
import zipfile
import zlib

CHUNK = 1024 * 1024
MAX_DIRECTORY = 4 * 1024 * 1024  # bytes of central directory: ~40,000 entries, 100 times a real .docx
_EOCD = b"PK\x05\x06"


class TooBig(ValueError):
    """The package, or one of its members, inflates past the cap."""


def open_zip(data: bytes) -> zipfile.ZipFile:
    """The package, refused before zipfile builds its index if the index itself is huge (each
    entry of the central directory becomes a ZipInfo of ~500 bytes)."""
    end = data.rfind(_EOCD, max(0, len(data) - 65_557))  # the record, then at most 64 KB of comment
    if end >= 0 and len(data) >= end + 16:
        (directory,) = struct.unpack("<I", data[end + 12 : end + 16])
        if directory > MAX_DIRECTORY:  # also zip64's 0xFFFFFFFF: no office document needs zip64
            raise TooBig(f"the zip directory is {directory} bytes")
    return zipfile.ZipFile(io.BytesIO(data))


class Member(io.RawIOBase):
    """A member as a stream (for iterparse), inflated a chunk at a time; TooBig past `cap` bytes."""

    def __init__(self, archive: zipfile.ZipFile, name: str | zipfile.ZipInfo, cap: int) -> None:
        super().__init__()
        self._inner = archive.open(name)
        self.cap, self.count = cap, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]  # io.RawIOBase takes any Buffer
        data = self._inner.read(min(len(buffer), CHUNK))
        self.count += len(data)
        if self.count > self.cap:
            raise TooBig(f"a part of the package inflates past {self.cap} bytes")
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._inner.close()
        super().close()


def read_member(archive: zipfile.ZipFile, name: str | zipfile.ZipInfo, cap: int) -> bytes:
    """A member's bytes, at most `cap` of them (TooBig past that)."""
    pieces = []
    with Member(archive, name, cap) as member:
        while chunk := member.read(CHUNK):
            pieces.append(chunk)
    return b"".join(pieces)


def inflated_size(archive: zipfile.ZipFile, cap: int) -> int:
    """What the members really inflate to, counted by inflating them (a result over `cap` stops
    early). For libraries (python-docx, openpyxl) that read whole members in one call."""
    total = 0
    for info in archive.infolist():
        total += _real_size(archive, info, cap - total)
        if total > cap:
            break
    return total


def _real_size(archive: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> int:
    fp = archive.fp
    assert fp is not None
    fp.seek(info.header_offset)
    local = fp.read(30)
    if len(local) < 30 or local[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"no local header for {info.filename!r}")
    name_len, extra_len = struct.unpack("<HH", local[26:30])
    fp.seek(info.header_offset + 30 + name_len + extra_len)
    if info.compress_type == zipfile.ZIP_STORED:
        return len(fp.read(min(info.compress_size, cap + 1)))
    if info.compress_type != zipfile.ZIP_DEFLATED:  # bzip2/lzma: no office suite writes them
        raise zipfile.BadZipFile(f"compression method {info.compress_type} is not read")
    inflate, left, size = zlib.decompressobj(-15), info.compress_size, 0
    while left > 0 and not inflate.eof and size <= cap:
        chunk = fp.read(min(CHUNK, left))
        if not chunk:
            break
        left -= len(chunk)
        size += len(inflate.decompress(chunk, CHUNK))
        while inflate.unconsumed_tail and size <= cap:
            size += len(inflate.decompress(inflate.unconsumed_tail, CHUNK))
    return size
