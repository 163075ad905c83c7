"""Vocabularies are named once: the ledger's state and status columns hold only their StrEnum's
values (a CHECK constraint from the migrations, the same as the models'), and every refusal code
has its words in templates/_review.j2, which has words for no other."""
from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from datetime import datetime, timezone
from enum import StrEnum
from pathlib import Path

import jinja2
import pytest
from jinja2 import nodes
from sqlalchemy import CheckConstraint, inspect
from sqlalchemy.exc import IntegrityError

from mailbridge.ledger.db import Database, ensure_schema
from mailbridge.ledger.models import Base, Message, Outgoing, Submission
from mailbridge.ledger.vocab import Disposition, MessageState, OutboxStatus, ReviewStatus, SubmissionStatus
from mailbridge.review import codes
from mailbridge.review.codes import Refusal, ReplyRefusal

PACKAGE = Path(codes.__file__).parents[1]
COLUMNS = [(Message, "state", MessageState), (Message, "disposition", Disposition),
           (Submission, "status", SubmissionStatus), (Submission, "review_status", ReviewStatus),
           (Outgoing, "status", OutboxStatus)]


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path}/v.db")
    ensure_schema(database.engine)  # through the migrations, as every real database is
    yield database
    database.dispose()


def _row(model: type, column: str, value: str, n: int) -> object:
    now = datetime(2026, 9, 1, tzinfo=timezone.utc)
    if model is Outgoing:
        return Outgoing(key=f"k{n}", kind="receipt", recipients=["a@example.org"], subject="s",
                        message_id=f"<{n}@x>", data=b"", **{column: value})
    message = Message(mailbox="import", folder="x", sha256="ab", size=1, received_at=now,
                      **({column: value} if model is Message else {}))
    if model is Message:
        return message
    return Submission(message=message, receipt_no=f"SMX-2026-09-{n:04d}", title="t", text="x", body_chars=1,
                      month="2026-09", **{column: value})


@pytest.mark.parametrize(("model", "column", "vocabulary"), COLUMNS, ids=lambda v: getattr(v, "__name__", v))
def test_a_column_holds_its_vocabulary_and_nothing_else(db: Database, model: type, column: str,
                                                        vocabulary: type[StrEnum]) -> None:
    for n, value in enumerate(vocabulary):
        with db.session() as s:
            s.add(_row(model, column, value, n))
    with pytest.raises(IntegrityError, match="CHECK constraint failed"), db.session() as s:
        s.add(_row(model, column, "bogus", 99))


def test_the_migrations_check_what_the_models_check(db: Database) -> None:
    """Alembic's autogenerate compares no CHECK constraints (tests/test_migrations.py): this does."""
    def norm(sql: str) -> str:
        return " ".join(str(sql).replace('"', "'").split())

    found = {(table, ck["name"]): norm(ck["sqltext"]) for table in ("messages", "submissions", "outbox")
             for ck in inspect(db.engine).get_check_constraints(table)}
    wanted = {(table.name, c.name): norm(c.sqltext) for table in Base.metadata.tables.values()
              for c in table.constraints if isinstance(c, CheckConstraint)}
    assert len(wanted) == len(COLUMNS)
    assert found == wanted


def test_a_vocabulary_value_is_the_string_the_records_always_had() -> None:
    """StrEnum members are their strings: JSON records and comparisons with stored values are unchanged."""
    assert json.dumps({"state": MessageState.PROCESSED}) == '{"state": "processed"}'
    assert f"{Disposition.AUTO_REPLY}" == "auto_reply" and ReviewStatus.PENDING == "pending"


def _problem_words() -> dict[str, str]:
    """The code -> words table of the `problem` macro in _review.j2, read from the template's syntax tree."""
    env = jinja2.Environment()
    tree = env.parse((PACKAGE / "templates" / "_review.j2").read_text(encoding="utf-8"))
    [macro] = [m for m in tree.find_all(nodes.Macro) if m.name == "problem"]
    [table] = list(macro.find_all(nodes.Dict))
    return {pair.key.value: pair.value.value for pair in table.items}


def test_every_refusal_has_its_words_in_the_review_template_and_no_other_code_has_any() -> None:
    words = _problem_words()
    assert set(words) == set(Refusal)
    assert all(words.values())
    # A refused reply is never answered (review/trust.py): its codes must have no words to send.
    assert not set(words) & set(ReplyRefusal)


def test_every_code_is_used_and_no_code_is_written_as_a_bare_string() -> None:
    """A code in the enums that nothing raises is dead vocabulary; a bare string passed to
    DecisionError bypasses them."""
    used: set[str] = set()
    bare = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                    and node.value.id in ("Refusal", "ReplyRefusal"):
                used.add(f"{node.value.id}.{node.attr}")
            if isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute)):
                name = node.func.id if isinstance(node.func, ast.Name) else node.func.attr
                at = {"DecisionError": 0, "_refuse": 1}.get(name)
                if at is not None and len(node.args) > at and isinstance(node.args[at], ast.Constant):
                    bare.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    defined = {f"{enum.__name__}.{member.name}" for enum in (Refusal, ReplyRefusal) for member in enum}
    assert defined - used == set()
    assert bare == []
