"""How long the scorecard's documents take to write for a large month: the .docx bulletin and the
.xlsx workbook of N units (default 2,000, a province), medians of three runs each.

    python bench/documents.py            # 2,000 units
    python bench/documents.py -n 500 --runs 1

The month is tests/months.py's (units of every type, a quarter silent, adoptions on every channel),
scored by the real engine; only the writers are timed.
"""
from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from months import system_month

from mailbridge.config import Config
from mailbridge.score.docx import write_docx
from mailbridge.score.engine import evaluate
from mailbridge.score.period import parse
from mailbridge.score.xlsx import write_xlsx


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--units", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    config = Config()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        books = system_month(Path(tmp), config, args.units)
        card = evaluate(books.s, config, parse("month", "2024-09"))
        lines = sum(len(u.lines) for u in card.units)
        print(f"{args.units} units, {lines} scoring lines; books and scores in {time.perf_counter() - started:.1f} s")
        for name, write in (("docx", write_docx), ("xlsx", write_xlsx)):
            times = []
            for _ in range(args.runs):
                out = io.BytesIO()
                t0 = time.perf_counter()
                write(card, config, out)
                times.append(time.perf_counter() - t0)
            print(f"{name}: median {statistics.median(times):.2f} s of {args.runs} "
                  f"({', '.join(f'{t:.2f}' for t in times)}), {len(out.getvalue()) // 1024} KB")
        books.close()


if __name__ == "__main__":
    main()
