"""`mailbridge run` as a real subprocess, its log lines readable as they come (readiness, not sleeps)."""
from __future__ import annotations

import re
import signal
import subprocess
import threading
from collections.abc import Sequence
from typing import ClassVar


class Daemon:
    """Start with the argv of a command; `wait_for(pattern)` blocks until a log line matches.

    Every daemon a test started and left running (the test failed before it stopped it) is killed
    when the test ends (`leftovers`, from tests/conftest.py), not left to the next test."""

    started: ClassVar[list[Daemon]] = []

    @classmethod
    def leftovers(cls) -> None:
        while cls.started:
            cls.started.pop().kill()

    def __init__(self, argv: Sequence[str], cwd: object, env: dict[str, str]) -> None:
        Daemon.started.append(self)
        self.proc = subprocess.Popen(list(argv), cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8")
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        with self.proc.stdout:
            for line in self.proc.stdout:
                with self._cond:
                    self.lines.append(line.rstrip("\n"))
                    self._cond.notify_all()
        with self._cond:
            self.lines.append("<exited>")
            self._cond.notify_all()

    @property
    def output(self) -> str:
        with self._cond:
            return "\n".join(self.lines)

    def wait_for(self, pattern: str, timeout: float = 30, after: int = 0) -> int:
        """The index of the first line from `after` on that matches; TimeoutError with the log."""
        regex = re.compile(pattern)

        def found() -> int | None:
            return next((i for i, line in enumerate(self.lines) if i >= after and regex.search(line)), None)

        with self._cond:
            if not self._cond.wait_for(lambda: found() is not None or "<exited>" in self.lines[after:], timeout) \
                    or found() is None:
                raise TimeoutError(f"no log line matching {pattern!r} within {timeout}s:\n" + "\n".join(self.lines))
            return found()  # type: ignore[return-value]

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM and wait; the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            self._reader.join(timeout=5)

    def kill(self) -> None:
        """kill -9: no cleanup of any kind."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._reader.join(timeout=5)
