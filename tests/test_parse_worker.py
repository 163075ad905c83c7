"""Parsing in a worker process: the same ledger as parsing in-process, and a worker that dies
(killed, out of memory) costs its message one attempt, never the message itself nor the run."""
from __future__ import annotations

import fcntl
import io
import os
import signal
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from support.mailfactory import DOCX_CT, headers, leaf, make_auto_reply, make_mail, multipart

from mailbridge.config import from_dict
from mailbridge.ledger.db import Database, ensure_schema
from mailbridge.ledger.models import Attachment, Counter, Message, Submission
from mailbridge.parse.worker import RESULTS_PIPE, InProcess, Job, Limits, ParseWorker
from mailbridge.pipeline import Origin, Pipeline
from mailbridge.pipeline import run
from mailbridge.pipeline.run import AHEAD
from support.database import database_url

SAMPLES = sorted((Path(__file__).parent / "samples").glob("*.eml"))
IGNORED_COLUMNS = {"id", "created_at", "processed_at", "attempts", "message_row_id", "document_id",
                   "duplicate_of", "version_of"}


def make_pipeline(root: Path, **ingest: object) -> Pipeline:
    config = from_dict({"database": {"url": database_url(root, "mb")}, "storage": {"dir": "store"},
                        "ingest": ingest}, base=root)
    db = Database(config.database.url)
    ensure_schema(db.engine)
    return Pipeline(config, db)


def mails() -> list[tuple[str, bytes]]:
    """Articles with one and two .docx, body-only ones, samples of every disposition, copies."""
    found = [(f"m{n}", make_mail(n, with_docx=n % 5 != 0, docs=1 + (n % 4 == 0), photos=n % 3))
             for n in range(1, 25)]
    found += [(path.name, path.read_bytes()) for path in SAMPLES]
    found += [("auto", make_auto_reply(3)), ("m7-again", make_mail(7, with_docx=True, photos=1))]
    return found


def books(pipeline: Pipeline) -> dict[str, list[dict]]:
    """Every row of the ledger tables, minus what differs between two equal runs (ids, times)."""
    def rows(model: type) -> list[dict]:
        with pipeline.db.session() as s:
            return [{c: v for c, v in vars(r).items() if not c.startswith("_") and c not in IGNORED_COLUMNS}
                    for r in s.scalars(select(model).order_by(*model.__table__.primary_key.columns))]
    return {model.__tablename__: rows(model) for model in (Message, Attachment, Submission, Counter)}


def worker_pids() -> list[int]:
    """This process's parse workers, found as any process would find them: in /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == os.getpid() and b"mailbridge.parse.worker" in cmdline:
            found.append(int(entry.name))
    return found


def sequential_books(tmp_path: Path, found: list[tuple[str, bytes]]) -> dict[str, list[dict]]:
    pipeline = make_pipeline(tmp_path / "sequential")
    for where, raw in found:
        pipeline.ingest(raw, Origin("import", where))
    return books(pipeline)


@pytest.mark.slow
def test_pipelined_ingest_keeps_the_books_of_sequential_ingest(tmp_path: Path) -> None:
    found = mails()
    pipeline = make_pipeline(tmp_path / "pipelined")
    outcomes = list(pipeline.ingest_many((raw, Origin("import", where), None) for where, raw in found))

    assert [o.origin.folder for o in outcomes] == [where for where, _ in found]
    assert worker_pids() == []  # the worker ended with the stream
    pipelined = books(pipeline)
    assert {m["disposition"] for m in pipelined["messages"]} >= {"submission", "duplicate", "auto_reply", "bounce"}
    assert pipelined == sequential_books(tmp_path, found)
    # The files the worker cut out are in the archive, byte-exact.
    for attachment in pipelined["attachments"]:
        path = pipeline.archive.file_path(attachment["sha256"])
        assert path.stat().st_size == attachment["size"]


@pytest.mark.slow
def test_a_worker_killed_mid_stream_is_replaced_and_nothing_is_lost_or_doubled(tmp_path: Path) -> None:
    found = mails()
    pipeline = make_pipeline(tmp_path / "pipelined")
    killed: list[int] = []

    def stream() -> Iterator[tuple[bytes, Origin, None]]:
        for i, (where, raw) in enumerate(found):
            if i in (10, 20):  # the worker holds message i-1 now (or has just finished it)
                pids = worker_pids()
                assert len(pids) == 1
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])
            yield raw, Origin("import", where), None

    outcomes = list(pipeline.ingest_many(stream()))

    assert len(killed) == 2 and len(set(killed)) == 2  # the second kill hit a new worker
    assert len(outcomes) == len(found)
    assert "quarantined" not in {o.disposition for o in outcomes}
    with pipeline.db.session() as s:
        assert max(s.scalars(select(Message.attempts))) <= 2  # a killed parse is one more attempt
    assert books(pipeline) == sequential_books(tmp_path, found)


def archived_jobs(pipeline: Pipeline, count: int) -> list[Job]:
    jobs = []
    for n in range(1, count + 1):
        raw = make_mail(n, with_docx=True, photos=1)
        jobs.append(Job(100 + n, pipeline.archive.put_raw(raw), len(raw)))
    return jobs


@pytest.mark.slow
def test_jobs_queue_in_the_worker_and_their_results_are_had_in_any_order(tmp_path: Path) -> None:
    pipeline = make_pipeline(tmp_path)
    first, second, third = archived_jobs(pipeline, 3)
    worker = ParseWorker(pipeline.archive.root, Limits(60 * 1024 * 1024, 200 * 1024 * 1024, timeout=30.0))
    try:
        for job in (first, second, third):
            worker.submit(job)
        # Results wait in the pipe, so the worker goes on to the next job without waiting to be asked.
        assert fcntl.fcntl(worker._results, fcntl.F_GETPIPE_SZ) == RESULTS_PIPE
        # The worker parses them in order; the last one asked for first.
        results = {job.row_id: worker.result(job) for job in (third, first, second)}
        assert [r.row_id for r in results.values()] == [third.row_id, first.row_id, second.row_id]
        assert all(r.error is None and r.crashed is None and r.drafts for r in results.values())
        assert results[first.row_id].mail.subject != results[second.row_id].mail.subject
    finally:
        worker.close()


@pytest.mark.slow
@pytest.mark.parametrize("how", ["killed", "stuck"])
def test_the_jobs_queued_behind_the_one_that_ends_a_worker_go_to_the_next_one(tmp_path: Path, how: str) -> None:
    """The oldest job is the one the worker was on: it alone is reported (crashed, or too long);
    the ones behind it had not started and are parsed by the new worker."""
    pipeline = make_pipeline(tmp_path)
    jobs = archived_jobs(pipeline, 3)
    worker = ParseWorker(pipeline.archive.root, Limits(60 * 1024 * 1024, 200 * 1024 * 1024, timeout=1.0))
    try:
        for job in jobs:
            worker.submit(job)
        first_pid = worker.pid
        assert first_pid is not None
        os.kill(first_pid, signal.SIGKILL if how == "killed" else signal.SIGSTOP)
        head = worker.result(jobs[0])
        if how == "killed":
            assert head.row_id == jobs[0].row_id and head.crashed == "killed by SIGKILL"
        else:
            assert head.error is not None and head.error.startswith("parse took too long")
        assert worker.pid != first_pid and not Path(f"/proc/{first_pid}").exists()
        for job in jobs[1:]:
            parsed = worker.result(job)
            assert parsed.row_id == job.row_id and parsed.error is None and parsed.crashed is None and parsed.drafts
    finally:
        worker.close()


@pytest.mark.slow
def test_the_worker_is_kept_messages_ahead_of_the_commits(tmp_path: Path) -> None:
    """When message k is committed, the next ones are already recorded, their attempt counted, and
    given to the worker: it does not wait for the ledger between messages."""
    found = [(f"m{n}", make_mail(n, with_docx=True)) for n in range(1, 7)]
    pipeline = make_pipeline(tmp_path)
    seen: list[tuple[str, list[str]]] = []
    for outcome in pipeline.ingest_many((raw, Origin("import", where), None) for where, raw in found):
        with pipeline.db.session() as s:
            waiting = list(s.scalars(select(Message.folder).where(Message.state == "archived").order_by(Message.id)))
        seen.append((outcome.origin.folder, waiting))
    names = [where for where, _ in found]
    assert seen == [(name, names[i + 1 : i + 1 + AHEAD]) for i, name in enumerate(names)]
    with pipeline.db.session() as s:
        assert set(s.scalars(select(Message.attempts))) == {1}


@pytest.mark.slow
def test_a_mail_parsed_here_waits_for_the_worker_s_queue_and_keeps_its_place(tmp_path: Path) -> None:
    """A mail too big for the worker is parsed in this process once the worker has parsed the ones
    queued before it (one big mail in memory at a time); the books and their order are those of a
    sequential ingest."""
    found = mails()
    big = 50_000  # the mails with photos count as big here
    assert 5 < sum(len(raw) >= big for _, raw in found) < len(found) - 5
    workers: list[ParseWorker] = []
    queued_when_parsed_here: list[int] = []
    start, parse_here = ParseWorker.__init__, InProcess.submit

    def track(self: ParseWorker, *args: object) -> None:
        start(self, *args)  # type: ignore[arg-type]
        workers.append(self)

    def count_queue(self: InProcess, job: Job, raw: bytes | None = None) -> None:
        queued_when_parsed_here.append(len(workers[0]._pending))
        parse_here(self, job, raw)

    pipeline = make_pipeline(tmp_path / "pipelined")
    with pytest.MonkeyPatch.context() as patch:  # not the test's monkeypatch: its fixtures' patches stay
        patch.setattr(run, "LOCAL_FROM", big)
        patch.setattr(ParseWorker, "__init__", track)
        patch.setattr(InProcess, "submit", count_queue)
        outcomes = list(pipeline.ingest_many((raw, Origin("import", where), None) for where, raw in found))

    assert [o.origin.folder for o in outcomes] == [where for where, _ in found]
    assert len(queued_when_parsed_here) > 5 and set(queued_when_parsed_here) == {0}
    assert books(pipeline) == sequential_books(tmp_path, found)


def memory_hog_docx(expanded_mb: int = 150) -> bytes:
    """A valid .docx whose document.xml is `expanded_mb` MB of short paragraphs (under the zip-bomb
    limit, so it is opened): parsing it takes gigabytes, as a real out-of-memory mail would."""
    ns = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    paragraph = "<w:p><w:r><w:t>科普</w:t></w:r></w:p>".encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                    'package/2006/content-types"><Override PartName="/word/document.xml" ContentType="'
                    f'{DOCX_CT}.main+xml"/></Types>')
        with zf.open("word/document.xml", "w", force_zip64=True) as member:
            member.write(f'<w:document xmlns:w="{ns}"><w:body>'.encode())
            block = paragraph * ((1 << 20) // len(paragraph))
            for _ in range(expanded_mb):
                member.write(block)
            member.write(b"</w:body></w:document>")
    return buf.getvalue()


@pytest.mark.slow
def test_a_mail_that_keeps_killing_the_worker_is_quarantined_and_the_run_goes_on(tmp_path: Path) -> None:
    boundary = "----=_Part_hog"
    hog = (headers([("From", "hog@163.com"), ("Subject", "hog"), ("Message-ID", "<hog@163.com>"),
                     ("Content-Type", f'multipart/mixed; boundary="{boundary}"')])
           + b"\r\n" + multipart(boundary, [leaf("text/plain", b"see attachment", charset="us-ascii"),
                                             leaf(DOCX_CT, memory_hog_docx(), filename="hog.docx")]))
    assert len(hog) < 8 * 1024 * 1024  # parsed by the worker, not in-process
    # The text caps of issue 10 lifted (they scale with max_text_chars): the document fills the worker.
    pipeline = make_pipeline(tmp_path / "pipelined", max_expanded_mb=400, max_text_chars=100_000_000)
    kills: list[int] = []
    done = threading.Event()

    def oom_killer() -> None:
        """Plays the kernel's OOM killer: a worker past 150 MB is killed (the bench's mail keeps it far below)."""
        while not done.is_set():
            for pid in worker_pids():
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                rss_kb = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
                if rss_kb > 150 * 1024:
                    os.kill(pid, signal.SIGKILL)
                    kills.append(pid)
            time.sleep(0.005)

    killer = threading.Thread(target=oom_killer, daemon=True)
    killer.start()
    try:
        stream = [(make_mail(1), "before"), (hog, "hog"), (make_mail(2), "after")]
        outcomes = list(pipeline.ingest_many((raw, Origin("import", where), None) for raw, where in stream))
    finally:
        done.set()
        killer.join()

    assert len(kills) == 3
    assert [o.disposition for o in outcomes] == ["submission", "quarantined", "submission"]
    with pipeline.db.session() as s:
        hog_row = s.scalar(select(Message).where(Message.folder == "hog"))
        assert hog_row.reason == "processing stopped 3 times without finishing"
        assert hog_row.attempts == 4
    assert pipeline.archive.raw_path(hog_row.sha256).read_bytes() == hog  # kept for `quarantine retry`
