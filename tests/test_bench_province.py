"""bench/province.py keeps working on both databases: a smoke run on tiny sizes (its figures are
not checked, only that every operation ran and what the run reports about itself)."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from support.fixtures import require_postgres

REPO = Path(__file__).resolve().parent.parent


# The bench picks its database itself (a private cluster for postgresql), so it runs once per
# backend here, not again in the suite's PostgreSQL pass.
@pytest.mark.once
@pytest.mark.slow
@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_province_benchmark_smoke_run(tmp_path: Path, db: str) -> None:
    if db == "postgresql":
        require_postgres()  # fails under CI when the server is missing
    figures = tmp_path / "figures.json"
    done = subprocess.run([sys.executable, str(REPO / "bench" / "province.py"), "--quick", "--db", db,
                           "--workdir", str(tmp_path / "work"), "--json", str(figures)],
                          capture_output=True, text=True, timeout=600, check=False)
    # Non-zero when any command failed, e.g. an import after the bulk build on PostgreSQL with the
    # id sequences left behind the ids written.
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "| `scorecard --year 2025 --json` |" in done.stdout and "mails with receipts" in done.stdout
    data = json.loads(figures.read_text())
    assert data["db"] == db and data["server"].startswith({"sqlite": "SQLite ", "postgresql": "PostgreSQL "}[db])
    [size] = data["sizes"].values()
    assert size["built"]["submissions"] == 400 and size["built"]["adoptions"] > 0 and size["built"]["db_mb"] > 0
    assert size["import 1 mail during scorecard --year"]["rc"] == 0
    assert size["ingest"]["runs"] == 1 and size["messages list --json"]["out_bytes"] > 100_000
    if db == "postgresql":
        [cluster] = re.findall(r"PostgreSQL cluster (\S+) on port", done.stdout)
        assert not Path(cluster).exists(), "the bench leaves its PostgreSQL cluster behind"
