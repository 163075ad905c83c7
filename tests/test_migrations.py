"""The schema changes only through migrations: an empty database upgraded to head equals the models.

Run on SQLite and (`--db=postgresql`, `make test`) on PostgreSQL: `db_url` is the run's database."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
import pytest
from sqlalchemy import inspect, text

from mailbridge.ledger.db import SCHEMA_HEAD, Database, ensure_schema, head_revision, upgrade
from mailbridge.ledger.models import Base


def test_upgrade_empty_database_matches_models(db_url: str) -> None:
    db = Database(db_url)
    before, after = upgrade(db.engine)
    assert before is None and after == head_revision()
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []
    db.dispose()


def test_a_ledger_at_head_is_opened_without_alembic(tmp_path: Path, db_url: str) -> None:
    """Every command checks the schema; at head that is one query: alembic (its import and its
    scripts, a tenth of a second) only when the schema must change or be refused."""
    assert head_revision() == SCHEMA_HEAD  # bump SCHEMA_HEAD with each new migration
    db = Database(db_url)
    ensure_schema(db.engine)
    db.dispose()
    check = ("import sys; from mailbridge.ledger.db import Database, ensure_schema; "
             f"db = Database({db_url!r}); ensure_schema(db.engine); "
             "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))")
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_behind_schema_is_refused_with_exit_2(tmp_path: Path, db_url: str) -> None:
    db = Database(db_url)
    ensure_schema(db.engine)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'old0'"))
    db.dispose()
    # An unknown (older, since-squashed) revision reads as "newer than this mailbridge"; a known
    # older one as "behind": both are exit 2 with the command that fixes it.
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "{db_url}"\n', encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "mailbridge", "-c", str(config), "messages", "list"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert "schema" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.sqlite_only  # a relative SQLite path, resolved beside the config
def test_command_creates_empty_database_at_head(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[database]\nurl = "sqlite:///fresh.db"\n', encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "mailbridge", "-c", str(config), "messages", "list", "--json"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    db = Database(f"sqlite:///{tmp_path}/fresh.db")
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head_revision()
    db.dispose()


@pytest.mark.sqlite_only  # SQLite's table rebuilds; PostgreSQL alters in place
def test_upgrade_keeps_rows_that_point_at_a_rebuilt_table(tmp_path: Path) -> None:
    """SQLite batch migrations rebuild a table (copy, DROP, rename): rows of other tables that point
    at it (adoptions and decisions at submissions) must neither block the DROP nor be lost."""
    from alembic import command

    from mailbridge.ledger.db import alembic_config

    db = Database(f"sqlite:///{tmp_path}/m.db")
    cfg = alembic_config(db.engine)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0004")
    with db.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO messages (id, mailbox, folder, sha256, size, received_at, state, attempts, action_pending,"
            " created_at) VALUES (1, 'import', 'x', 'ab', 1, '2024-09-01 02:00:00', 'processed', 1, 0,"
            " '2024-09-01 02:00:00')"))
        conn.execute(text(
            "INSERT INTO submissions (id, message_row_id, receipt_no, title, text, body_chars, status, flags, links,"
            " month, created_at, review_status) VALUES (1, 1, 'SMX-2024-09-0001', 't', 'x', 1, 'received', '[]',"
            " '[]', '2024-09', '2024-09-01 02:00:00', 'adopted')"))
        conn.execute(text(
            "INSERT INTO adoptions (submission_id, channel, adopted_on, actor, via, created_at)"
            " VALUES (1, 'website', '2024-09-02', 'cli', 'cli', '2024-09-02 02:00:00')"))
    before, after = upgrade(db.engine)
    assert (before, after) == ("0004", head_revision())
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT submission_id, channel FROM adoptions")).all() == [(1, "website")]
        assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1  # enforced again afterwards
    db.dispose()


def test_every_revision_goes_down_to_base_and_up_again(db_url: str) -> None:
    """Each revision's downgrade undoes its upgrade: base -> head -> base -> head ends equal to the models."""
    from alembic import command

    from mailbridge.ledger.db import alembic_config

    db = Database(db_url)
    upgrade(db.engine)
    with db.engine.begin() as conn:
        cfg = alembic_config(db.engine)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
        assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
        if conn.dialect.name == "postgresql":  # enum types outlive their tables unless dropped
            assert conn.exec_driver_sql("SELECT typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace"
                                        " WHERE n.nspname = 'public' AND t.typtype = 'e'").all() == []
    before, after = upgrade(db.engine)
    assert before is None and after == head_revision()
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []
    db.dispose()
