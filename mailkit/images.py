"""Real image files without PIL: PNG from pixel rows, baseline JPEG from a grid of flat 8x8 blocks."""
from __future__ import annotations

import base64
import struct
import zlib
from collections.abc import Callable

RGB = tuple[int, int, int]

# A 48x32 baseline JPEG (sky, field, red banner) made once with cjpeg from a generated PPM.
SMALL_JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAA0JCgsKCA0LCgsODg0PEyAVExISEyccHhcgLikxMC4p"
    "LSwzOko+MzZGNywtQFdBRkxOUlNSMj5aYVpQYEpRUk//2wBDAQ4ODhMREyYVFSZPNS01T09PT09P"
    "T09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT0//wAARCAAgADADASIA"
    "AhEBAxEB/8QAGQABAQEAAwAAAAAAAAAAAAAABAEFAAMG/8QALhAAAAQDBwAKAwAAAAAAAAAAAAEC"
    "EgMEEQUUFVNikqEWITFRZKKjwdHhIlRh/8QAGQEAAgMBAAAAAAAAAAAAAAAABAUAAQID/8QAJhEA"
    "AQMDAwIHAAAAAAAAAAAAAQACAxETUgQjkQXwQVFTYYGC8f/aAAwDAQACEQMRAD8A1yIGjWhKQIpw"
    "osVq09pNM/YMIhmTli3uaXHvDHU6mVpQqd4YTOkDdsVKH0ggc8idxAp4efBXbi0hn+RXwLi9n/se"
    "RXwBdHPF+n9i9HPF+n9gW5q8R38pmIum+oe/qtGBaMnMRkwoMZy1dhNMvYMIhlSNiXSbRHvD2V/F"
    "lK1Iy7/6NgiHeJ0hbuChQmoELXgQmo9/wLzGKzWarYkXFprNVsSBP0civ0chNekyPKUiqZi01mq2"
    "JFxabzVbEgb9HI4/RyJekyPK0CU3F5vNVsSLi83mq2JAn6ORX6ORV6TI8rYJX//Z"
)


def png_of_rows(width: int, height: int, rows: bytes, level: int = 9) -> bytes:
    """An 8-bit RGB PNG; `rows` are the scanlines, each led by its filter byte (0: none)."""
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows, level))
            + chunk(b"IEND", b""))


def png(width: int, height: int, pixel: Callable[[int, int], RGB]) -> bytes:
    """An RGB PNG whose pixel (x, y) is `pixel(x, y)`."""
    rows = b"".join(b"\0" + b"".join(bytes(pixel(x, y)) for x in range(width)) for y in range(height))
    return png_of_rows(width, height, rows)


DC_BITS = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]  # ITU T.81 Table K.3 ...
DC_CODES = ["00", "010", "011", "100", "101", "110", "1110", "11110", "111110", "1111110",
            "11111110", "111111110"]  # ... its canonical codes for categories 0..11


def jpeg(grid: list[list[RGB]]) -> bytes:
    """Baseline JPEG, 4:4:4, one flat 8x8 block per grid cell: only DC coefficients, then EOB."""
    h, w = 8 * len(grid), 8 * len(grid[0])

    def seg(marker: int, data: bytes) -> bytes:
        return struct.pack(">HH", marker, len(data) + 2) + data

    head = b"\xff\xd8" + seg(0xFFE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0")
    head += seg(0xFFDB, b"\0" + bytes([16] * 64))
    comps = b"".join(bytes([c, 0x11, 0]) for c in (1, 2, 3))  # Y, Cb, Cr: 1x1 sampling, DQT 0
    head += seg(0xFFC0, struct.pack(">BHHB", 8, h, w, 3) + comps)
    # DC table 0 (standard) and an AC table 0 holding one code, "0" = EOB
    head += seg(0xFFC4, b"\x00" + bytes(DC_BITS) + bytes(range(12))
                + b"\x10" + bytes([1] + [0] * 15) + b"\0")
    head += seg(0xFFDA, b"\x03" + b"".join(bytes([c, 0]) for c in (1, 2, 3)) + b"\x00\x3f\x00")
    bits, pred = [], [0, 0, 0]
    for row in grid:
        for r, g, b in row:
            ycc = (0.299 * r + 0.587 * g + 0.114 * b,
                   128 - 0.1687 * r - 0.3313 * g + 0.5 * b,
                   128 + 0.5 * r - 0.4187 * g - 0.0813 * b)
            for i, v in enumerate(ycc):
                dc = round((v - 128) / 2)  # DC = 8·(v−128), quantiser 16
                diff, pred[i] = dc - pred[i], dc
                cat = abs(diff).bit_length()
                bits.append(DC_CODES[cat])
                if cat:
                    bits.append(format(diff if diff > 0 else diff + (1 << cat) - 1, f"0{cat}b"))
                bits.append("0")
    s = "".join(bits)
    s += "1" * (-len(s) % 8)
    data = int(s, 2).to_bytes(len(s) // 8, "big").replace(b"\xff", b"\xff\x00")
    return head + data + b"\xff\xd9"
