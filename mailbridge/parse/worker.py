"""The parse stage, in this process or in a second one that parses while the first one commits.

`run` is the stage itself: archived raw bytes → decoded mail, its files in the archive, its
articles. `InProcess` runs it here; `ParseWorker` runs it in a long-lived child process (a fresh
interpreter that imports only the parsers, ~30 MB), so that on two cores the ledger work of one
message overlaps the parsing of the next. Both hand back the same picklable `Parsed`, so a ledger
does not depend on where its mail was parsed.

The worker reads the raw bytes from the archive, not from its pipe: they are on disk (and in the
page cache) before any job is sent, and a job stays a few bytes. Jobs queue in its pipe (the
pipeline keeps it a message or two ahead, so that it does not wait for the ledger) and are parsed
in the order sent; each result is one length-prefixed pickle, so that waiting for one is a
`select` on the pipe. A worker that dies (killed, out of memory, a crash in a parser library) is
replaced: the job it was parsing, the oldest unanswered one, is reported as `crashed` (the
pipeline counts it as one more attempt, see `mailbridge.pipeline.run`), and the jobs queued
behind it, never started, are sent to the new worker as they were.

Every parse is bounded (issue 10, see `bounds.py`): past `Limits.timeout` the parse stops and the
message is quarantined ("parse took too long"); a worker stuck in C code past that is killed by
its parent. The worker's address space is capped (RLIMIT_AS, `Limits.memory`), so a memory bomb
ends in a MemoryError or in the death of the worker, never in the exhaustion of the machine.
"""
from __future__ import annotations

import fcntl
import os
import pickle
import resource
import select
import signal
import subprocess
import sys
import time
import traceback
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mailbridge.parse.tables import looks_like_roster
from mailbridge.errors import TransientError
from mailbridge.ledger.archive import Archive
from mailbridge.memory import return_freed_memory
from mailbridge.parse import bounds, mime
from mailbridge.parse.article import Draft, articles

if TYPE_CHECKING:  # the parse child imports no pydantic
    from mailbridge.config import IngestConfig

MB = 1024 * 1024
WORKER_MMAP_FROM = 1 * MB  # see serve()
RESULTS_PIPE = 1 * MB  # the results pipe's buffer (Linux's unprivileged maximum by default)
KILL_GRACE = 5.0  # seconds past the deadline before the parent kills a worker whose alarm did not work


@dataclass(frozen=True)
class Limits:
    max_attachment: int  # bytes: a larger file is kept but not opened
    max_expanded: int  # bytes: a .docx expanding to more is a zip bomb
    max_documents: int | None = None  # documents of one mail read as articles; the rest stay attachments
    timeout: float | None = None  # seconds for one message's parse, its converters included
    memory: int | None = None  # bytes of address space for the parse worker
    max_text_chars: int = bounds.DEFAULT_MAX_TEXT_CHARS

    @classmethod
    def of(cls, ingest: IngestConfig) -> Limits:
        """The limits set by an [ingest] config section."""
        return cls(ingest.max_attachment_mb * MB, ingest.max_expanded_mb * MB,
                   max_documents=ingest.max_documents_per_mail, timeout=float(ingest.parse_timeout_seconds),
                   memory=ingest.parse_memory_mb * MB, max_text_chars=ingest.max_text_chars)


@dataclass(frozen=True)
class Job:
    """One archived message to parse; its attempt is already counted in the ledger."""

    row_id: int
    sha256: str
    size: int


@dataclass
class Parsed:
    """What the parse stage made of a job: a mail and its articles, or why not."""

    row_id: int | None = None
    mail: mime.ParsedMail | None = None
    drafts: list[Draft] | None = None
    error: str | None = None  # the message cannot be parsed: it is quarantined with this reason
    trace: str | None = None  # the traceback behind `error`, for the log
    transient: str | None = None  # retry later: the archive cannot be read or written
    crashed: str | None = None  # the worker process died on this job


def parse_stage(raw: bytes, archive: Archive, limits: Limits) -> tuple[mime.ParsedMail, list[Draft]]:
    """Decode the mail, store its files, read its documents. Parts come back without their bytes
    (they are in the archive): the ledger needs only names, sizes and hashes."""
    mail = mime.parse(raw, archive.put_stream)
    for part in mail.parts:
        if part.data is not None:
            archive.put_file(part.data, part.sha256)
        if part.size > limits.max_attachment:
            part.flags.add("too_large")  # kept, but not opened
        elif part.data is None and part.kind == "document":  # a large document: read it back
            part.data = archive.file_path(part.sha256).read_bytes()
        if part.data is not None and looks_like_roster(part.filename, part.data):
            part.flags.add("roster_form")  # a filled 信息员登记表 is a roster update, not an article
    drafts = articles(mail, limits.max_expanded, limits.max_documents)
    for part in mail.parts:
        part.data = None
    return mail, drafts


def run(job: Job, archive: Archive, limits: Limits, raw: bytes | None = None) -> Parsed:
    """The parse stage for one job; never raises for a bad message."""
    try:
        raw = raw if raw is not None else archive.read_raw(job.sha256)
    except OSError as exc:
        return Parsed(job.row_id, transient=f"archived message {job.sha256} cannot be read: {exc.strerror}")
    try:
        with bounds.parsing(limits.max_text_chars, limits.timeout):
            mail, drafts = parse_stage(raw, archive, limits)
    except bounds.ParseTimeout:
        return Parsed(job.row_id, error=_too_long(limits))
    except MemoryError:
        return Parsed(job.row_id, error=_too_big(limits), trace=traceback.format_exc())
    except TransientError as exc:
        return Parsed(job.row_id, transient=str(exc))
    except Exception as exc:  # noqa: BLE001 - anything the parser cannot take: keep it, say why, carry on
        return Parsed(job.row_id, error=f"cannot be parsed: {type(exc).__name__}: {exc}"[:500], trace=traceback.format_exc())
    return Parsed(job.row_id, mail, drafts)


def _too_long(limits: Limits) -> str:
    return f"{bounds.TOO_LONG} (over ingest.parse_timeout_seconds = {limits.timeout:g})"


def _too_big(limits: Limits) -> str:
    cap = f" = {limits.memory // MB}" if limits.memory else ""
    return f"parse ran out of memory (over ingest.parse_memory_mb{cap})"


class InProcess:
    """The parse stage run here, behind the worker's interface."""

    def __init__(self, archive: Archive, limits: Limits) -> None:
        self.archive, self.limits = archive, limits
        self._results: dict[int, Parsed] = {}

    def submit(self, job: Job, raw: bytes | None = None) -> None:
        self._results[job.row_id] = run(job, self.archive, self.limits, raw)

    def result(self, job: Job) -> Parsed:
        return self._results.pop(job.row_id)

    def close(self) -> None:
        pass


class WorkerError(RuntimeError):
    """The parse worker could not be started: an installation problem, not a problem of a mail."""


class ParseWorker:
    """A child process running the parse stage, one job after another, over a pair of pipes."""

    def __init__(self, root: Path, limits: Limits) -> None:
        self._setup = (str(root), limits)
        self._limits = limits
        self._proc: subprocess.Popen | None = None
        self._pending: deque[tuple[Job, float]] = deque()  # sent and unanswered, in order, with when sent
        self._answered: dict[int, Parsed] = {}  # results read while waiting for a later job's
        self._start()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def _start(self) -> None:
        job_r, job_w = os.pipe()
        res_r, res_w = os.pipe()
        try:  # room for the results of the jobs queued (a mail's texts: often over the default 64 KB),
            fcntl.fcntl(res_r, fcntl.F_SETPIPE_SZ, RESULTS_PIPE)  # so the worker goes on to the next
        except (AttributeError, OSError):  # not Linux, or over /proc/sys/fs/pipe-max-size: it waits
            pass
        try:
            # The child finds mailbridge where this process did (as multiprocessing's spawn does).
            path = os.pathsep.join([p for p in sys.path if p] + os.environ.get("PYTHONPATH", "").split(os.pathsep))
            self._proc = subprocess.Popen([sys.executable, "-m", __name__, str(job_r), str(res_w)],
                                          pass_fds=(job_r, res_w), stdin=subprocess.DEVNULL,
                                          env={**os.environ, "PYTHONPATH": path.strip(os.pathsep)})
        finally:
            os.close(job_r)  # only the child holds these ends: its death is our EOF
            os.close(res_w)
        self._jobs = open(job_w, "wb")
        self._results = res_r
        self._ready, self._dead = False, False  # dead: a send found the pipe broken
        self._free_since = time.monotonic()  # when it last finished a job: the next one starts then
        try:
            self._send(self._setup)
        except BrokenPipeError:  # it died at once: the handshake says so
            pass

    def _send(self, obj: object) -> None:
        pickle.dump(obj, self._jobs, protocol=pickle.HIGHEST_PROTOCOL)
        self._jobs.flush()

    def _handshake(self) -> None:
        """Wait for the child to have imported the parsers; one that cannot start is a setup problem."""
        try:
            ready = self._receive()
        except (EOFError, OSError, pickle.UnpicklingError):
            ready = None
        if ready != "ready":
            raise WorkerError(f"the parse worker did not start ({self._reap()}); run "
                              f"'{sys.executable} -c \"import mailbridge.parse.worker\"' to see why.")
        self._ready = True

    def submit(self, job: Job, raw: bytes | None = None) -> None:
        """Queue a job (the bytes are read from the archive)."""
        self._pending.append((job, time.monotonic()))
        if self._dead:  # sent to the new worker, after the job that killed this one
            return
        if len(self._pending) == 1:
            self._send_pending()
            return
        try:  # a broken pipe now means the worker died on an earlier job
            self._send(job)
        except (BrokenPipeError, ConnectionResetError):
            self._dead = True  # result() tells which one (the oldest) and replaces the worker

    def _send_pending(self) -> None:
        """Send the pending jobs to a worker that has none. One found dead before it took them is
        replaced: none of them had started, so it is no one's crash."""
        for _ in range(2):
            try:
                if not self._ready:
                    self._handshake()
                for job, _sent in self._pending:
                    self._send(job)
                return
            except (BrokenPipeError, ConnectionResetError):
                self._restart()
        raise WorkerError(f"the parse worker keeps dying before it takes a job ({self._reap()})")

    def result(self, job: Job | None = None) -> Parsed:
        """The result of `job` (by default the oldest pending one), `crashed` when the worker died
        on it; the results of jobs sent before it are read and kept meanwhile. A worker still at
        a job past its deadline is killed: that message is quarantined, not retried."""
        wanted = job.row_id if job is not None else self._pending[0][0].row_id
        while wanted not in self._answered:
            head, sent = self._pending.popleft()
            self._answered[head.row_id] = self._next_result(head, sent)
        return self._answered.pop(wanted)

    def _next_result(self, head: Job, sent: float) -> Parsed:
        """The result of the oldest pending job, `head`. Whatever becomes of the worker, the jobs
        queued behind it go to one that is alive."""
        deadline = max(sent, self._free_since) + (self._limits.timeout or 0) + KILL_GRACE
        if self._limits.timeout is not None and not self._wait(deadline):
            assert self._proc is not None
            self._proc.kill()
            why = self._replace()
            return Parsed(head.row_id, error=f"{_too_long(self._limits)}; the parse worker was {why}")
        try:
            parsed = self._receive()
        except (EOFError, OSError, pickle.UnpicklingError):
            return Parsed(head.row_id, crashed=self._replace())
        self._free_since = time.monotonic()
        assert isinstance(parsed, Parsed) and parsed.row_id == head.row_id, (parsed, head)
        return parsed

    def _replace(self) -> str:
        """A new worker, given the jobs the old one had not started; how the old one ended."""
        why = self._restart()
        if self._pending:
            self._send_pending()
        return why

    def _receive(self) -> object:
        """One answer: a length-prefixed pickle, read straight from the pipe (no buffer that
        select() could not see)."""
        size = int.from_bytes(self._read(8), "big")
        return pickle.loads(self._read(size))

    def _read(self, size: int) -> bytearray:
        data = bytearray()
        while len(data) < size:
            chunk = os.read(self._results, min(size - len(data), 1 << 20))
            if not chunk:
                raise EOFError("the parse worker closed its pipe")
            data += chunk
        return data

    def _wait(self, deadline: float) -> bool:
        """Whether an answer (or the worker's death) arrived before `deadline`."""
        while (left := deadline - time.monotonic()) > 0:
            if select.select([self._results], [], [], left)[0]:
                return True
        return False

    def _restart(self) -> str:
        why = self._reap()
        self._start()
        return why

    def _reap(self) -> str:
        """Close the pipes and wait for the child; how it ended, in words."""
        try:
            self._jobs.close()
        except OSError:
            pass
        if self._results >= 0:  # closed once: the number may belong to another file afterwards
            os.close(self._results)
            self._results = -1
        assert self._proc is not None
        try:
            code = self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            code = self._proc.wait()
        if code < 0:
            try:
                return f"killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exit status {code}"

    def close(self) -> None:
        """Stop the child: it ends when its job pipe closes."""
        if self._proc is not None:
            self._reap()
        self._proc = None


def serve(jobs_fd: int, results_fd: int) -> None:
    """The child's loop: a setup tuple, then jobs until the parent closes the pipe."""
    # Ctrl-C and systemd's SIGTERM reach the whole process group: the parent decides when to stop
    # (it finishes its message first); this process ends when its job pipe closes.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # As in the parent (RSS stays flat over a long back-fill), but this process holds one mail of
    # under LOCAL_FROM (8 MB) at a time: its body, its translated copy and its photos (100-300 KB
    # each) are reused from the heap instead of mapped, faulted in and zeroed afresh for each mail.
    return_freed_memory(WORKER_MMAP_FROM)
    jobs, results = open(jobs_fd, "rb"), open(results_fd, "wb")

    def answer(obj: object) -> None:  # length-prefixed: see ParseWorker._receive
        data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        results.write(len(data).to_bytes(8, "big"))
        results.write(data)
        results.flush()

    try:
        root, limits = pickle.load(jobs)
        if limits.memory:
            _cap_memory(limits.memory)
        archive = Archive(Path(root))
        answer("ready")
        while True:
            answer(run(pickle.load(jobs), archive, limits))
    except (EOFError, BrokenPipeError):  # the parent is done, or gone
        pass
    os._exit(0)  # nothing to flush: a result the parent no longer reads is not wanted


def _cap_memory(limit: int) -> None:
    """Cap this process's address space: an allocation past it fails (MemoryError) instead of
    the machine swapping. Inherited by the converters the worker starts."""
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


if __name__ == "__main__":  # the child: `python -m mailbridge.parse.worker JOBS_FD RESULTS_FD`
    from mailbridge.parse.worker import serve as _serve  # the module by its name: results unpickle there

    _serve(int(sys.argv[1]), int(sys.argv[2]))
