"""No input crashes the run, and every input ends in the ledger with a disposition."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from mailbridge.config import from_dict
from mailbridge.ledger.db import Database, ensure_schema
from mailbridge.ledger.models import Message
from mailbridge.pipeline import Origin, Pipeline
from support.database import database_url

HERE = Path(__file__).parent
SEEDS = sorted((HERE / "samples").glob("*.eml"))[:40] + sorted((HERE.parent / "mailbridge" / "demo" / "mail").glob("*.eml"))
# Fragments that steer mutations towards the MIME parser's hard places.
TOKENS = [b"\r\n--", b"=?gbk?B?", b"?=", b"\r\n\r\n", b"Content-Transfer-Encoding: base64\r\n",
          b"Content-Type: multipart/mixed; boundary=\"", b"filename*0*=", b"\xff\xfe", b"\x00", b"=\r\n"]


@st.composite
def mutated_mail(draw: st.DrawFn) -> bytes:
    data = bytearray(SEEDS[draw(st.integers(0, len(SEEDS) - 1))].read_bytes()) if SEEDS else bytearray()
    for _ in range(draw(st.integers(0, 8))):
        if not data:
            data.extend(draw(st.binary(max_size=200)))
            continue
        pos = draw(st.integers(0, len(data)))
        choice = draw(st.integers(0, 3))
        if choice == 0:
            data[pos:pos] = draw(st.sampled_from(TOKENS))
        elif choice == 1:
            del data[pos : pos + draw(st.integers(1, 400))]
        elif choice == 2 and pos < len(data):
            data[pos] = draw(st.integers(0, 255))
        else:
            del data[pos:]
    return bytes(data)


# A failing example is a whole mail: Hypothesis warns that its repr is large; the traceback matters.
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")
@pytest.mark.slow
def test_no_input_crashes_the_pipeline(tmp_path: Path) -> None:
    assert SEEDS, "sample mails are missing"
    config = from_dict({"database": {"url": database_url(tmp_path, "f")}, "storage": {"dir": "store"}}, base=tmp_path)
    db = Database(config.database.url)
    ensure_schema(db.engine)
    pipeline = Pipeline(config, db)
    seen: set[str] = set()

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(raw=mutated_mail() | st.binary(max_size=2000))
    def one(raw: bytes) -> None:
        origin = Origin("import", f"fuzz-{len(seen)}")
        seen.add(origin.folder)
        outcome = pipeline.ingest(raw, origin)
        with db.session() as s:
            row = s.get(Message, outcome.row_id)
            assert row.state == "processed"
            assert row.disposition in {"submission", "duplicate", "auto_reply", "bounce", "quarantined", "ignored"}
            assert pipeline.archive.raw_path(row.sha256).read_bytes() == raw

    one()
    with db.session() as s:
        assert s.scalar(select(func.count(Message.id))) == len(seen)
    db.dispose()
