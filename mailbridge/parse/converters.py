"""External converters (pdftotext, antiword, LibreOffice), bounded in time and in output.

Each runs in its own session (`start_new_session`), and its whole process group is killed when
it ends, times out or floods: LibreOffice's `soffice.bin` survived a timeout of its launcher, and
300 MB of output held in memory took 1.6 GB (issue 10). The time each may take is what is left of
the message's converter budget (`bounds.Bounds.converter_seconds`).
"""
from __future__ import annotations

import os
import select
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

_PIECE = 64 * 1024


@dataclass
class Ran:
    returncode: int | None  # None: killed, see timed_out and truncated
    output: bytes
    timed_out: bool = False
    truncated: bool = False  # the output reached the cap: the tool was stopped there


def run(argv: list[str], timeout: float, max_output: int, cwd: Path | None = None) -> Ran:
    """Run `argv` with its standard output captured, at most `max_output` bytes of it."""
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            cwd=cwd, start_new_session=True)
    assert proc.stdout is not None
    pieces: list[bytes] = []
    size, timed_out, truncated = 0, False, False
    deadline = time.monotonic() + timeout
    try:
        fd = proc.stdout.fileno()
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            if not select.select([fd], [], [], left)[0]:
                continue
            piece = os.read(fd, _PIECE)
            if not piece:
                break
            pieces.append(piece[: max_output - size])
            size += len(pieces[-1])
            if size >= max_output:
                truncated = True
                break
        if not (timed_out or truncated):
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                timed_out = True
    finally:
        _kill_group(proc)
        proc.stdout.close()
        proc.wait()
    code = None if timed_out or truncated else proc.returncode
    return Ran(code, b"".join(pieces), timed_out=timed_out, truncated=truncated)


def _kill_group(proc: subprocess.Popen) -> None:
    """Kill the tool and anything it started (it is the leader of its own process group)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):  # the group is gone already
        pass
