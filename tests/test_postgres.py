"""Several instances on one set of books: schema creation races, side-by-side daemons, restarts.

The race tests take the database from the run's backend (`--db`), so they run on SQLite and on
PostgreSQL; the ones that compare both databases or need a server of their own are marked `once`.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mbcli import PASSWORD_ENV, Mailbridge, mailbox

RACES = 4  # the race lost 4 of 4 times before the schema lock


@pytest.mark.parametrize("command", [("db", "upgrade"), ("poll", "--once")], ids=["db-upgrade", "poll"])
def test_two_processes_creating_the_schema_together_both_succeed(tmp_path: Path, imap_account, command) -> None:  # type: ignore[no-untyped-def]
    for run in range(RACES):
        mb = Mailbridge(tmp_path / f"run{run}", [mailbox(imap_account)], env={PASSWORD_ENV: imap_account.password})
        procs = [subprocess.Popen(mb.argv(*command), cwd=mb.root, env=mb.env, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        results = [(p.wait(120), *p.communicate()) for p in procs]
        for code, out, err in results:
            assert code == 0, f"run {run}: {' '.join(command)} exited {code}\n{out}\n{err}"
        assert mb.ok("db", "upgrade").startswith("database schema at "), "not at head after the race"
