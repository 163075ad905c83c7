"""Every parse is bounded in time and memory (issue 10): pathological inputs of realistic size
finish with the right result, bombs cost only their document, converters share one budget and
are killed with their children, a parse past its deadline is quarantined, and the pass goes on.

The parse deadline is the guard against regressions: a quadratic path brought back makes its
mail "parse took too long" instead of a submission. Timing figures live in bench/parse_worst.py.
"""
from __future__ import annotations

import io
import os
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import docx
import openpyxl
import pytest
from sqlalchemy import select
from support.mailfactory import CRLF, DOCX_CT, SUBMIT_ADDRESS, headers, leaf, make_mail, multipart
from test_parse_worker import make_pipeline

from mailbridge.ledger.models import Message, Submission
from mailbridge.parse.worker import Job, Limits, ParseWorker
from mailbridge.pipeline import Origin, Pipeline

XLSX_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MB = 1024 * 1024


def mail(n: int, subject: str = "Report", html: str | None = None, text: str | None = None,
         files: tuple[tuple[str, str, bytes], ...] = ()) -> bytes:
    """A mail from an unknown sender with the given body and (name, content type, bytes) files."""
    parts = [leaf("text/plain", text.encode(), charset="UTF-8")] if text is not None else []
    parts += [leaf("text/html", html.encode(), charset="UTF-8")] if html is not None else []
    parts += [leaf(ctype, data, filename=name) for name, ctype, data in files]
    head = [("From", f"writer{n}@example.com"), ("To", SUBMIT_ADDRESS), ("Subject", subject),
            ("Message-ID", f"<bounds-{n}@example.com>"), ("Date", "Tue, 3 Nov 2026 08:00:00 +0800"),
            ("MIME-Version", "1.0"), ("Content-Type", f'multipart/mixed; boundary="b{n}"')]
    return headers(head) + CRLF + multipart(f"b{n}", parts)


def ingest_pass(pipeline: Pipeline, mails: list[bytes], parallel: bool = True) -> list[tuple[Message, list[Submission]]]:
    """One pass over the mails (parsed in the worker process unless over 8 MB); each message
    with its submissions, in order."""
    outcomes = list(pipeline.ingest_many(((raw, Origin("import", f"m{i}"), None) for i, raw in enumerate(mails)),
                                         parallel=parallel))
    with pipeline.db.session() as s:
        s.expire_on_commit = False
        found = []
        for outcome in outcomes:
            row = s.get(Message, outcome.row_id)
            subs = list(s.scalars(select(Submission).where(Submission.message_row_id == row.id).order_by(Submission.id)))
            found.append((row, subs))
        return found


def no_temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.startswith((".tmp-", "mailbridge-doc-", "mailbridge-soffice-"))]


def make_docx(body_xml: bytes = b"") -> bytes:
    """A real .docx (python-docx) titled 标题 with one paragraph 正文, `body_xml` put after them."""
    document = docx.Document()
    document.add_paragraph("标题")
    document.add_paragraph("正文第一段")
    out = io.BytesIO()
    document.save(out)
    if not body_xml:
        return out.getvalue()
    return _rezip(out.getvalue(), {"word/document.xml": lambda xml: xml.replace(b"<w:sectPr", body_xml + b"<w:sectPr", 1)})


def _rezip(data: bytes, change: dict) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info)
            dst.writestr(info.filename, change[info.filename](content) if info.filename in change else content)
    return out.getvalue()


def lying_docx(real_mb: int) -> bytes:
    """A .docx whose document.xml really inflates to `real_mb` MB while its headers say 2 KB."""
    src = zipfile.ZipFile(io.BytesIO(make_docx()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename != "word/document.xml":
                dst.writestr(info.filename, src.read(info))
                continue
            xml = src.read(info)
            head, tail = xml.split(b"<w:body>", 1)
            with dst.open("word/document.xml", "w") as member:
                member.write(head + b"<w:body><w:p><w:r><w:t>")
                for _ in range(real_mb):
                    member.write(b"x" * MB)
                member.write(b"</w:t></w:r></w:p>" + tail)
    data = bytearray(out.getvalue())
    for signature, offset in ((b"PK\x01\x02", 24), (b"PK\x03\x04", 22)):  # central and local headers
        at = 0
        while (at := data.find(signature, at)) >= 0:
            name_at = at + (46 if signature == b"PK\x01\x02" else 30)
            (name_len,) = struct.unpack("<H", data[at + (28 if signature == b"PK\x01\x02" else 26):][:2])
            if bytes(data[name_at : name_at + name_len]) == b"word/document.xml":
                struct.pack_into("<I", data, at + offset, 2048)
            at += 4
    return bytes(data)


def sparse_roster_xlsx() -> bytes:
    """A roster form (header row 单位/电子信箱) whose second cell is XFD1048576: 5 KB on disk."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["单位（部门）", "姓名", "电子信箱"])
    sheet.append(["卢氏县科协", "张三", "zs@163.com"])
    sheet["XFD1048576"] = "end"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# ---------------------------------------------------------------------------------- time


@pytest.mark.slow
def test_pathological_bodies_of_a_megabyte_parse_within_the_deadline(tmp_path: Path) -> None:
    start = "<p>这是正文开头。</p>"
    bodies = {
        "unterminated tags": start + "<a" * 500_000,
        "unterminated quotes": start + '<a x="' * 170_000,
        "unterminated comments": start + "<!--" * 250_000,
        "tags": start + "<b>x</b>" * 120_000,
        "163 link": start + '<a href="' + "http://mail.163.com/" * 50_000 + 'download">附件.zip</a> 超大附件',
        "digits before 天": start + '<a href="http://mail.163.com/js6/download?f=1">附件.zip</a>' + "1" * 1_000_000,
    }
    mails = [mail(n, html=body) for n, body in enumerate(bodies.values())] + [make_mail(1)]
    pipeline = make_pipeline(tmp_path, parse_timeout_seconds=60)
    results = ingest_pass(pipeline, mails)
    for (what, _), (row, subs) in zip(bodies.items(), results[:-1], strict=True):  # the last: a plain mail
        assert (what, row.disposition, row.reason) == (what, "submission", None)
        assert subs[0].text.startswith("这是正文开头。"), what
    assert [link["filename"] for link in results[4][1][0].links] == ["附件.zip"]
    assert [link["filename"] for link in results[5][1][0].links] == ["附件.zip"]
    assert results[-1][0].disposition == "submission"
    assert no_temp_files(tmp_path) == []


def test_subject_of_500000_reply_marks_is_stripped(tmp_path: Path) -> None:
    pipeline = make_pipeline(tmp_path, parse_timeout_seconds=20)
    subject = "Re: " * 500_000 + "Fwd: [unit] Report of the month"  # 2 MB: minutes when stripped mark by mark
    ((row, subs),) = ingest_pass(pipeline, [mail(1, subject=subject, text="正文第一段。")], parallel=False)
    assert row.disposition == "submission"
    assert subs[0].title == "Report of the month"


@pytest.mark.slow
def test_parse_past_its_deadline_is_quarantined_and_the_pass_goes_on(tmp_path: Path) -> None:
    # 6 MB of tags (parsed in the worker) and 12 MB (over 8 MB: parsed in this process): seconds
    # of work each, against a deadline of one second. The mails after them are processed.
    pipeline = make_pipeline(tmp_path, parse_timeout_seconds=1, max_text_chars=5_000_000)
    mails = [mail(1, html="<b>x</b>" * 750_000), make_mail(2), mail(3, html="<b>x</b>" * 1_500_000), make_mail(4)]
    results = ingest_pass(pipeline, mails)
    assert [row.disposition for row, _ in results] == ["quarantined", "submission", "quarantined", "submission"]
    for row, _ in (results[0], results[2]):
        assert row.reason.startswith("parse took too long (over ingest.parse_timeout_seconds = 1)")
    assert no_temp_files(tmp_path) == []


@pytest.mark.slow
def test_worker_stuck_past_the_deadline_is_killed_and_replaced(tmp_path: Path) -> None:
    pipeline = make_pipeline(tmp_path)
    raw = make_mail(1)
    sha = pipeline.archive.put_raw(raw)
    limits = Limits(60 * MB, 200 * MB, timeout=1.0, memory=1024 * MB)
    worker = ParseWorker(pipeline.archive.root, limits)
    try:
        worker.submit(Job(7, sha, len(raw)))
        stuck = worker.pid
        assert stuck is not None
        os.kill(stuck, signal.SIGSTOP)  # a worker that no longer answers, as one stuck in C code
        result = worker.result()
        assert result.row_id == 7
        assert result.error is not None and result.error.startswith("parse took too long")
        assert "killed by SIGKILL" in result.error
        assert not Path(f"/proc/{stuck}").exists() and worker.pid != stuck
        worker.submit(Job(8, sha, len(raw)))
        again = worker.result()
        assert again.row_id == 8 and again.error is None and again.mail is not None
    finally:
        worker.close()


# ---------------------------------------------------------------------------------- memory


@pytest.mark.slow
def test_memory_bombs_cost_only_their_document(tmp_path: Path) -> None:
    # In the worker, capped at 512 MB of address space: a bomb read whole fails there.
    mails = [
        mail(1, text="正文。", files=(("lying.docx", DOCX_CT, lying_docx(600)),)),
        mail(2, files=(("paragraphs.docx", DOCX_CT, make_docx(b"<w:p/>" * (20 * MB // 6))),)),
        mail(3, text="登记表见附件。", files=(("登记表.xlsx", XLSX_CT, sparse_roster_xlsx()),)),
        make_mail(4),
    ]
    assert len(mails[1]) < 200_000  # 20 MB of XML in a small file
    pipeline = make_pipeline(tmp_path, parse_memory_mb=512, parse_timeout_seconds=60)
    results = ingest_pass(pipeline, mails)
    (_, para_subs), (roster, _) = results[1], results[2]
    assert [row.disposition for row, _ in results] == ["submission", "submission", "ignored", "submission"]
    lying_sub = results[0][1][0]
    assert "no_text" in lying_sub.flags and "MemoryError" not in (lying_sub.problem or "")
    assert (para_subs[0].title, para_subs[0].text) == ("标题", "正文第一段")
    assert "unreadable" not in para_subs[0].flags and "truncated" in para_subs[0].flags  # not read to the end
    assert roster.reason.startswith("roster form (信息员登记表) 登记表.xlsx")
    assert no_temp_files(tmp_path) == []


def test_text_is_capped_and_flagged_truncated(tmp_path: Path) -> None:
    blank = b"\n" * (20 * MB)
    long_text = ("一段正文。" * 400).encode()  # 2,000 characters
    mails = [
        mail(1, files=(("空行.txt", "text/plain", "第一行标题\n第二行正文\n".encode() + blank),)),
        mail(2, files=(("长文.txt", "text/plain", "标题\n".encode() + long_text),)),
        mail(3, text="很长的正文。" * 300),
    ]
    pipeline = make_pipeline(tmp_path, max_text_chars=1000, parse_timeout_seconds=60)
    (_, blank_subs), (_, long_subs), (_, body_subs) = ingest_pass(pipeline, mails)
    assert (blank_subs[0].title, blank_subs[0].text) == ("第一行标题", "第二行正文")
    assert "truncated" not in blank_subs[0].flags  # only blank lines were left out
    assert "truncated" in long_subs[0].flags and len(long_subs[0].text) <= 1000
    assert "truncated" in body_subs[0].flags and len(body_subs[0].text) <= 1000


# ---------------------------------------------------------------------------------- converters


def fake_tool(bin_dir: Path, name: str, script: str) -> None:
    path = bin_dir / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)


def alive(pid: int) -> bool:
    """Running, not a zombie waiting to be reaped by init."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture
def fake_bin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    return bin_dir


def test_converters_share_one_budget_and_die_with_their_children(tmp_path: Path, fake_bin: Path) -> None:
    # Each hanging tool ignores SIGTERM and leaves a child behind, as LibreOffice's launcher does.
    pids = tmp_path / "pids"
    hang = f"trap '' TERM\nsleep 600 &\necho $$ $! >> {pids}\nwait\n"
    fake_tool(fake_bin, "pdftotext", hang)
    fake_tool(fake_bin, "antiword", hang)
    files = (("一.pdf", "application/pdf", b"%PDF-1.4 one"), ("二.pdf", "application/pdf", b"%PDF-1.4 two"),
             ("三.doc", "application/msword", b"\xd0\xcf\x11\xe0 three"))
    pipeline = make_pipeline(tmp_path, parse_timeout_seconds=8)
    began = time.monotonic()
    ((row, subs),) = ingest_pass(pipeline, [mail(1, files=files)], parallel=False)
    spent = time.monotonic() - began
    assert row.disposition == "submission" and len(subs) == 3
    assert all("no_text" in sub.flags for sub in subs)
    assert all("took too long" in sub.problem or "no time was left" in sub.problem for sub in subs), \
        [sub.problem for sub in subs]
    assert spent < 8 + 10  # one budget for the mail (each tool had 120 s of its own before)
    started = [int(pid) for line in pids.read_text().split("\n") if line for pid in line.split()]
    assert started and not [pid for pid in started if alive(pid)]
    assert no_temp_files(tmp_path) == []


def test_converter_output_is_capped(tmp_path: Path, fake_bin: Path) -> None:
    fake_tool(fake_bin, "pdftotext", "exec yes 转换出的正文\n")  # floods its standard output forever
    pipeline = make_pipeline(tmp_path, max_text_chars=1000, parse_timeout_seconds=60)
    ((row, subs),) = ingest_pass(pipeline, [mail(1, files=(("flood.pdf", "application/pdf", b"%PDF-1.4"),))],
                                 parallel=False)
    assert row.disposition == "submission"
    assert subs[0].title == "转换出的正文" and "truncated" in subs[0].flags
    assert len(subs[0].text) <= 1000
    assert no_temp_files(tmp_path) == []


# ---------------------------------------------------------------------------------- disk


def test_full_disk_leaves_no_partial_file(tmp_path: Path) -> None:
    # RLIMIT_FSIZE makes writes past 1 MB fail (EFBIG) as a full disk does (ENOSPC).
    script = f"""
import resource, signal
from pathlib import Path
from mailbridge.errors import TransientError
from mailbridge.ledger.archive import Archive
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (1024 * 1024, resource.RLIM_INFINITY))
archive = Archive(Path({str(tmp_path / 'store')!r}))
for store in (lambda: archive.put_stream(iter([b"x" * 65536] * 40)), lambda: archive.put_file(b"y" * 2_000_000)):
    try:
        store()
    except TransientError as exc:
        print("refused:", exc)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("refused: cannot write to the archive") == 2
    assert [p for p in (tmp_path / "store").rglob("*") if p.is_file()] == []
