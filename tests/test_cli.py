"""The CLI as scripts use it: demo, import, quarantine and retry, exit codes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

DEMO_MAIL = Path(__file__).resolve().parents[1] / "mailbridge" / "demo" / "mail"


def mb(config: Path | None, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "mailbridge"] + (["-c", str(config)] if config else []) + list(args)
    return subprocess.run(argv, capture_output=True, text=True, check=False, env={**os.environ, **(env or {})})


def as_json(config: Path, *args: str) -> list:
    done = mb(config, *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text('[database]\nurl = "sqlite:///mb.db"\n[storage]\ndir = "store"\n'
                    '[smtp]\ntransport = "file"\n[ingest]\nmax_message_mb = 1\n', encoding="utf-8")
    return path


@pytest.mark.slow
def test_demo_runs_offline(tmp_path: Path) -> None:
    done = mb(None, "demo", "--dir", str(tmp_path / "demo"))
    assert done.returncode == 0, done.stderr
    config = tmp_path / "demo" / "config.toml"
    subs = as_json(config, "submissions", "list")
    messages = as_json(config, "messages", "list")
    assert len(messages) == len(list(DEMO_MAIL.glob("*.eml"))) + 1  # the samples and the reviewer's reply
    dispositions = {m["disposition"] for m in messages}
    assert {"submission", "duplicate", "auto_reply", "bounce"} <= dispositions
    assert len(subs) > len(messages) // 2
    assert all(s["title"] and "=?" not in s["title"] for s in subs)
    assert any("large_attachment_link" in s["flags"] for s in subs)
    # The 医学会's article is behind a 超大附件 link: its cover note waits (待补交) and counts for nothing.
    [waiting] = [s for s in subs if s["unit"] == "三门峡市医学会"]
    assert waiting["status"] == "awaiting_file" and "large_attachment_link" in waiting["flags"]
    # A reviewer answered the first digest: two articles adopted, in the sample mail's month.
    card = {u["unit"]: u for u in as_json(config, "scorecard", "--month", "2026-09")}
    assert sum(u["adopted"] for u in card.values()) == 2
    assert card["三门峡市医学会"]["submitted"] == 0 and not card["三门峡市医学会"]["quota_met"]
    assert any(m["reason"] and m["reason"].startswith("reviewer reply: 2 of 2") for m in as_json(config, "messages", "list"))
    # The month passes on a simulated clock: each Monday's progress, the 催报, the monthly scorecard.
    outbox = tmp_path / "demo" / "outbox"
    kinds = sorted(p.name.split("-")[1].split(".")[0] for p in outbox.glob("*.eml"))
    assert {"receipt", "digest", "progress", "remind", "scorecard", "collection_reminder",
            "collection_report"} <= set(kinds)
    # The deadline collection: one unit sent its report, the other did not (and was reminded).
    assert {u["unit"]: u["status"] for u in as_json(config, "collections", "show", "kepuri-2026")} == {
        "市科协科普部": "sent", "卢氏县科协": "missing"}
    [card] = outbox.glob("*-scorecard.eml")
    from email import message_from_bytes, policy

    mail = message_from_bytes(card.read_bytes(), policy=policy.default)
    assert sorted(p.get_filename()[-5:] for p in mail.iter_attachments()) == [".docx", ".xlsx"]
    again = mb(None, "demo", "--dir", str(tmp_path / "demo"))  # a second run changes nothing
    assert again.returncode == 0 and len(as_json(config, "submissions", "list")) == len(subs)
    assert sorted(p.name.split("-")[1].split(".")[0] for p in outbox.glob("*.eml")) == kinds


@pytest.mark.slow
def test_import_is_idempotent_and_contract_fields(config: Path) -> None:
    first = mb(config, "import", str(DEMO_MAIL))
    assert first.returncode == 0, first.stderr
    second = mb(config, "import", str(DEMO_MAIL))
    assert "already in the ledger: " + str(len(list(DEMO_MAIL.glob("*.eml")))) in second.stdout
    messages = as_json(config, "messages", "list")
    for m in messages:
        assert {"id", "mailbox", "folder", "uidvalidity", "uid", "message_id", "sha256", "received_at", "sender",
                "disposition", "reason", "submission_ids"} <= m.keys()
        assert m["mailbox"] == "import" and m["uid"] is None
    subs = as_json(config, "submissions", "list")
    for s in subs:
        assert {"id", "receipt_no", "message_id", "mailbox", "received_at", "sender", "sender_name", "subject",
                "title", "body_chars", "category", "unit", "status", "flags", "attachments"} <= s.keys()
        assert s["sender"] == s["sender"].lower()
    assert len({s["receipt_no"] for s in subs}) == len(subs)
    month = subs[0]["received_at"][:7]
    assert all(s["received_at"][:7] == month for s in as_json(config, "submissions", "list", "--month", month))
    shown = mb(config, "submissions", "show", str(subs[0]["id"]), "--json")
    assert json.loads(shown.stdout)["text"]


@pytest.mark.slow
def test_quarantine_then_retry_after_fix(config: Path, tmp_path: Path) -> None:
    big = tmp_path / "big.eml"
    big.write_bytes(b"From: a@163.com\r\nSubject: big\r\nMessage-ID: <big@1>\r\n\r\n" + b"x" * (2 * 1024 * 1024))
    assert mb(config, "import", str(big)).returncode == 0
    [q] = as_json(config, "quarantine", "list")
    assert "max_message_mb" in q["reason"]
    config.write_text(config.read_text().replace("max_message_mb = 1", "max_message_mb = 10"))
    done = mb(config, "quarantine", "retry", str(q["id"]))
    assert done.returncode == 0 and "submission" in done.stdout
    assert as_json(config, "quarantine", "list") == []
    [sub] = as_json(config, "submissions", "list")
    assert sub["title"] == "big"


@pytest.mark.slow
def test_exit_codes(tmp_path: Path, config: Path) -> None:
    assert mb(tmp_path / "nope.toml", "messages", "list").returncode == 2
    assert mb(config, "import", str(tmp_path / "missing.eml")).returncode == 2
    assert mb(config, "submissions", "list", "--month", "2024-9").returncode == 2
    assert mb(config, "no-such-command").returncode == 2
    bad_host = tmp_path / "imap.toml"
    bad_host.write_text(config.read_text() + '[[mailboxes]]\nname = "x"\nhost = "127.0.0.1"\nport = 9\n'
                        'security = "plain"\nusername = "u"\npassword_env = "PW"\n', encoding="utf-8")
    done = mb(bad_host, "poll", "--once", env={"PW": "secret"})
    assert done.returncode == 3
    assert "cannot connect" in done.stderr and "Traceback" not in done.stderr


def test_every_command_written_is_in_the_lazy_table() -> None:
    """cli.LAZY names each command a second time (so `--help` imports none): a command written in
    mailbridge/commands/ but missing from the table would never run, one in the table that no module
    defines would fail only when typed."""
    import importlib
    import pkgutil

    import click

    import mailbridge.commands
    from mailbridge.cli import LAZY

    found: dict[int, tuple[click.Command, set[str]]] = {}
    nested: set[int] = set()
    for info in pkgutil.iter_modules(mailbridge.commands.__path__):
        module = importlib.import_module(f"mailbridge.commands.{info.name}")
        for attr, value in vars(module).items():
            if isinstance(value, click.Command):
                found.setdefault(id(value), (value, set()))[1].add(f"{info.name}:{attr}")
                if isinstance(value, click.Group):
                    nested |= {id(sub) for sub in value.commands.values()}
    top = {command.name: targets for key, (command, targets) in found.items() if key not in nested}
    assert set(top) == set(LAZY)
    assert all(LAZY[name][0] in targets for name, targets in top.items())


def test_help_lists_every_command_with_its_own_words_without_importing_them() -> None:
    """`mailbridge --help` reads cli.LAZY (fast start-up); each line must be the command's own help."""
    import importlib

    from mailbridge.cli import LAZY

    for name, (target, short) in LAZY.items():
        module, attr = target.split(":")
        command = getattr(importlib.import_module(f"mailbridge.commands.{module}"), attr)
        assert command.name == name
        assert command.get_short_help_str(limit=100) == short, name
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "mailbridge", "--help"], capture_output=True,
                          text=True, check=True)
    assert all(name in done.stdout for name in LAZY)
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    assert not imported & {"sqlalchemy", "alembic", "pydantic", "jinja2", "mailbridge.commands"}
