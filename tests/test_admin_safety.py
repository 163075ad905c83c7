"""What admins open and keep: spreadsheets and the terminal hold a sender's strings harmlessly;
the database URL's password is never shown; the ledger, outbox and store are private files."""
from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from support.mailfactory import make_mail
from support.mbcli import Mailbridge
from test_outbox import (
    _trust_test_certificate,  # noqa: F401  (SSL_CERT_FILE for installation())
    installation,
    write_mails,
)

from mailbridge.ledger.db import Database

# --- what admins open: spreadsheets and the terminal -------------------------------------------

FORMULA = '=HYPERLINK("http://evil.example/x","点击领取")'


def _cells(path: Path) -> list:  # type: ignore[type-arg]
    from openpyxl import load_workbook

    book = load_workbook(path)
    return [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row if cell.value is not None]


def test_sender_strings_are_text_in_every_xlsx(tmp_path: Path) -> None:
    import datetime as dt

    from support.books import Books, at

    from mailbridge.config import Config
    from mailbridge.score.engine import evaluate
    from mailbridge.score.period import parse
    from mailbridge.score.xlsx import write_xlsx

    books = Books(tmp_path, Config())
    books.unit("=1+1", "county")
    sub = books.article("=1+1", at("2024-09", 2), FORMULA + "\x1b[31m\x0b")
    books.adopt(sub, "website")
    card = evaluate(books.s, books.config, parse("month", "2024-09"), today=dt.date(2024, 10, 1))
    write_xlsx(card, books.config, tmp_path / "card.xlsx")
    books.close()
    cells = _cells(tmp_path / "card.xlsx")
    risky = [c for c in cells if isinstance(c.value, str) and c.value.startswith("=")]
    assert {c.value for c in risky} == {"=1+1", FORMULA + "[31m"}  # control characters dropped
    assert {c.data_type for c in risky} == {"s"}  # strings, not formulas


def test_roster_export_writes_names_as_text(tmp_path: Path) -> None:
    mb = Mailbridge(tmp_path, [])
    (tmp_path / "roster.csv").write_text("单位,姓名,电子信箱,单位类型\n\"=cmd|' /C calc'!A0\",=2+2,a@163.com,county\n",
                                         encoding="utf-8")
    mb.ok("roster", "import", str(tmp_path / "roster.csv"))
    mb.ok("roster", "export", str(tmp_path / "out.xlsx"))
    risky = [c for c in _cells(tmp_path / "out.xlsx") if str(c.value).startswith("=")]
    assert {c.value for c in risky} == {"=cmd|' /C calc'!A0", "=2+2"}
    assert {c.data_type for c in risky} == {"s"}


TERMINAL_POISON = "标题\x1b]0;owned\x07\x1b[2J\r伪造\x08\u202e\x9b31m"


def test_terminal_output_neutralises_control_characters(tmp_path: Path) -> None:
    mb = Mailbridge(tmp_path, [])
    body = f"{TERMINAL_POISON}\r\n" + "为深入贯彻落实全民科学素质行动规划纲要，组织科技工作者深入基层开展活动。" * 4 + "\r\n"
    raw = (b"From: =?UTF-8?B?" + base64.b64encode(TERMINAL_POISON.encode()) + b"?= <lsxkx@163.com>\r\n"
           b"To: smxskx@163.com\r\nSubject: =?UTF-8?B?" + base64.b64encode(TERMINAL_POISON.encode()) + b"?=\r\n"
           b"Message-ID: <poison@163.com>\r\nDate: Tue, 03 Nov 2026 09:00:00 +0800\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + body.encode())
    mb.ok("import", str(write_mails(tmp_path / "in", raw)))
    outputs = [mb.ok("submissions", "show", "1"), mb.ok("submissions", "list"), mb.ok("messages", "list")]
    for out in outputs:
        assert not any(c in out for c in "\x1b\x07\x08\r\u202e\x9b"), repr(out)
    assert "\\x1b" in outputs[0] and "伪造" in outputs[0]  # shown, escaped, not executed
    # JSON stays exact: scripts get the text as stored (the body as written; headers as the parser
    # keeps them, its C0 controls already folded to spaces, the bidi override kept).
    record = json.loads(mb.ok("submissions", "show", "1", "--json"))
    assert "\x1b]0;owned\x07" in record["text"] and "\u202e" in record["subject"]


# --- secrets and files -------------------------------------------------------------------------

SECRET = "S3cr3tPw"


def with_database_url(mb: Mailbridge, url: str) -> None:
    config = mb.config.read_text(encoding="utf-8")
    mb.config.write_text(config.replace(f'url = {json.dumps(mb.db_url)}', f"url = {json.dumps(url)}", 1),
                         encoding="utf-8")


@pytest.mark.parametrize("url", [
    f"postgresql+psycopg://clerk:{SECRET}@localhost:notaport/mailbridge",
    f"postgres//clerk:{SECRET}@localhost/mailbridge",
    f"postgresql://clerk:{SECRET}@localhost/mailbridge?sslmode=require",
    f"mysql://clerk:{SECRET}@localhost/mailbridge",
    f"sqlite://clerk:{SECRET}@/mailbridge.db",
    f"postgresql://localhost/mailbridge?user=clerk&password={SECRET}",
])
def test_a_mistyped_database_url_never_shows_its_password(tmp_path: Path, url: str) -> None:
    mb = Mailbridge(tmp_path, [])
    with_database_url(mb, url)
    for command in (["messages", "list"], ["db", "upgrade"], ["check-config"], ["doctor"], ["outbox", "flush"]):
        done = mb.run(*command)
        assert SECRET not in done.stdout + done.stderr, (command, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr and done.returncode in (0, 2, 3), (command, done.stderr)


def test_masked_urls() -> None:
    from mailbridge.ledger.db import masked

    assert masked(f"postgresql+psycopg://clerk:{SECRET}%40x@db.example/mb") == "postgresql+psycopg://clerk:***@db.example/mb"
    assert masked(f"postgresql://clerk:{SECRET}@x@db:port/mb") == "postgresql://***@db:port/mb"
    assert masked("sqlite:////var/lib/mailbridge/mb.db") == "sqlite:////var/lib/mailbridge/mb.db"


def test_a_percent_escape_in_the_database_url_is_no_crash(tmp_path: Path) -> None:
    from mailbridge.ledger.db import alembic_config

    (tmp_path / "a@b").mkdir()
    mb = Mailbridge(tmp_path, [])
    with_database_url(mb, f"sqlite:///{tmp_path}/a%40b/mb.db")  # '@' written as %40, as in a password
    done = mb.run("db", "upgrade")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert (tmp_path / "a@b" / "mb.db").is_file()
    mb.ok("messages", "list")
    # The URL never goes through configparser (its interpolation is what choked on '%').
    db = Database(f"sqlite:///{tmp_path}/a%40b/mb.db")
    try:
        assert alembic_config(db.engine).get_main_option("sqlalchemy.url") is None
    finally:
        db.dispose()


@pytest.mark.sqlite_only  # the ledger file's mode; a PostgreSQL server keeps its own files
def test_ledger_outbox_and_store_are_private_under_umask_022(tmp_path: Path) -> None:
    import os
    import stat

    old = os.umask(0o022)
    try:
        mb = Mailbridge(tmp_path / "site", [], receipts={"max_age_days": 0})
        mb.ok("import", "--receipts", str(write_mails(tmp_path / "in", make_mail(1))))
    finally:
        os.umask(old)
    files = [p for p in mb.root.rglob("*") if p.is_file() and p.name != "mailbridge.toml"]
    store = [p for p in files if mb.store in p.parents]
    assert mb.db_path in files and list(mb.outbox.glob("*.eml")) and any(p.suffix == ".eml" for p in store)
    assert any(p.parent.parent.name == "files" for p in store)
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for folder in [mb.store, mb.outbox, *{p.parent for p in store}]:
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder


def test_a_password_file_others_can_read_is_used_with_a_warning(tmp_path: Path, smtp_server) -> None:  # type: ignore[no-untyped-def]
    from support.smtp import PASSWORD, USER

    server = smtp_server("ssl", auth=True)
    secret = tmp_path / "smtp.password"
    secret.write_text(PASSWORD + "\n", encoding="utf-8")
    secret.chmod(0o644)
    mb = installation(tmp_path / "site", server)
    config = mb.config.read_text(encoding="utf-8")
    mb.config.write_text(config.replace("[smtp]\n", f"[smtp]\nusername = {json.dumps(USER)}\n"
                                        f"password_file = {json.dumps(str(secret))}\n", 1), encoding="utf-8")
    out = mb.ok("check-config")
    assert f"password_file {secret} is readable by others than its owner (mode 0644)" in out and "chmod 600" in out
    done = mb.run("import", "--receipts", str(write_mails(tmp_path / "in", make_mail(1))))
    assert done.returncode == 0 and len(server.received) == 1  # still read and used
    assert "readable by others than its owner" in done.stderr
    assert PASSWORD not in out + done.stdout + done.stderr
    secret.chmod(0o600)
    assert "readable by others" not in mb.ok("check-config")
