"""Drive mailbridge the way cron and the admins do: its CLI, a process per command, with a TOML config."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from support.database import database_url, rows
from support.zygote import Zygote

PASSWORD_ENV = "MB_TEST_PW"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a valid TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def mailbox(account: Any, name: str = "smxskx", *, port: int | None = None,
            password_env: str = PASSWORD_ENV, **options: Any) -> dict[str, Any]:
    """A [[mailboxes]] entry for an ImapAccount (plain IMAP on 127.0.0.1)."""
    entry = {"name": name, "host": account.host, "port": port or account.port, "security": "plain",
             "username": account.user, "password_env": password_env, "folders": ["INBOX"],
             "action": "none", "batch_messages": 5}
    entry.update(options)
    return entry


class Mailbridge:
    """One mailbridge installation in a temp dir: config, ledger (SQLite or PostgreSQL), archive, outbox."""

    def __init__(self, root: Path, mailboxes: list[dict[str, Any]], env: dict[str, str] | None = None,
                 smtp: dict[str, Any] | None = None, db_url: str | None = None,
                 **sections: dict[str, Any]) -> None:
        """`smtp` entries replace the default file transport's; `sections` add tables, e.g. receipts={...};
        `db_url`: a database to share with another installation (default: a new one of the run's kind)."""
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.db_path = root / "mb.db"  # the SQLite file when the suite runs on SQLite
        self.db_url = db_url or database_url(root)
        self.store = root / "store"
        self.outbox = root / "outbox"
        self.config = root / "mailbridge.toml"
        smtp = {"transport": "file", "dir": str(self.outbox), "from": "三门峡市科协 <smxskx@163.com>", **(smtp or {})}
        lines = ["[database]", f"url = {_toml(self.db_url)}",
                 "[storage]", f"dir = {_toml(str(self.store))}", "[smtp]"]
        lines += [f"{key} = {_toml(value)}" for key, value in smtp.items()]
        for name, table in sections.items():
            lines.append(f"[{name}]")
            lines += [f"{key} = {_toml(value)}" for key, value in table.items()]
        for box in mailboxes:
            lines.append("[[mailboxes]]")
            lines += [f"{key} = {_toml(value)}" for key, value in box.items()]
        self.config.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.env = {**os.environ, **(env or {})}
        self.env.pop("MAILBRIDGE_CONFIG", None)

    def rows(self, sql: str, *args: Any) -> list[tuple]:
        """Read or change the ledger behind mailbridge's back (`?` placeholders; JSON as text)."""
        return rows(self.db_url, sql, *args)

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "mailbridge", "-c", str(self.config), *args]

    def run(self, *args: str, timeout: float = 120, fresh: bool = False) -> subprocess.CompletedProcess[str]:
        """The command in its own process: forked from the zygote, or with `fresh` a new interpreter."""
        if fresh:
            return subprocess.run(self.argv(*args), check=False, cwd=self.root, env=self.env, capture_output=True,
                                  text=True, encoding="utf-8", timeout=timeout)
        return Zygote.get().run(["-c", str(self.config), *args], self.env, self.root, timeout)

    def popen(self, *args: str) -> subprocess.Popen[bytes]:
        """Started in the background; output discarded (the caller waits or kills it)."""
        return subprocess.Popen(self.argv(*args), cwd=self.root, env=self.env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def ok(self, *args: str) -> str:
        """Run a command that must succeed; its stdout."""
        done = self.run(*args)
        assert done.returncode == 0, (f"mailbridge {' '.join(args)} exited {done.returncode}\n"
                                      f"--- stdout ---\n{done.stdout}\n--- stderr ---\n{done.stderr}")
        return done.stdout

    def poll(self, *args: str) -> str:
        return self.ok("poll", "--once", *args)

    def messages(self) -> list[dict[str, Any]]:
        return json.loads(self.ok("messages", "list", "--json"))

    def submissions(self) -> list[dict[str, Any]]:
        return json.loads(self.ok("submissions", "list", "--json"))
