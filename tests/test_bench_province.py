"""bench/province.py keeps working: a smoke run on tiny sizes (its figures are not checked)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_province_benchmark_smoke_run(tmp_path: Path) -> None:
    figures = tmp_path / "figures.json"
    done = subprocess.run([sys.executable, str(REPO / "bench" / "province.py"), "--quick", "--workdir",
                           str(tmp_path / "work"), "--json", str(figures)],
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "| `scorecard --year 2025 --json` |" in done.stdout and "mails with receipts" in done.stdout
    data = json.loads(figures.read_text())
    [size] = data["sizes"].values()
    assert size["built"]["submissions"] == 400 and size["built"]["adoptions"] > 0
    assert size["import 1 mail during scorecard --year"]["rc"] == 0
    assert size["ingest"]["runs"] == 1 and size["messages list --json"]["out_bytes"] > 100_000
