#!/usr/bin/env python3
"""Worst-case parse benchmark: seconds and peak RSS of one parse per hostile input, at N and 2N.

    python bench/parse_worst.py            # every input at its N and 2N (a few minutes on 2 cores)
    python bench/parse_worst.py --only html   # the inputs whose name contains "html"
    python bench/parse_worst.py --json figures.json

Each parse runs in a fresh interpreter (the parse stage of the worker, `worker.run`, with no
deadline so the real cost shows), so its peak RSS (VmHWM, interpreter included) is that input's
alone. Targets
(issue 10): every parse under 20 s and 600 MB, and at most x2.5 per doubling of the input (the
ratio is shown only where a parse takes long enough, 0.3 s, for it to mean something).
Exit status 1 when a target is missed.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE.parent))  # the repository root: mailkit, used by the test helpers

from support.mailfactory import DOCX_CT
from test_parse_bounds import XLSX_CT, lying_docx, mail, make_docx, sparse_roster_xlsx

MB = 1024 * 1024
MAX_SECONDS, MAX_RSS_MB, MAX_RATIO, RATIO_FROM = 20.0, 600, 2.5, 0.3

_CHILD = r"""
import sys, time
from pathlib import Path
from mailbridge.ledger.archive import Archive
from mailbridge.parse.worker import Job, Limits, run
raw = Path(sys.argv[1]).read_bytes()
archive = Archive(Path(sys.argv[2]))
sha = archive.put_raw(raw)
began = time.perf_counter()
parsed = run(Job(1, sha, len(raw)), archive, Limits(60 * 1024 * 1024, 200 * 1024 * 1024), raw)
seconds = time.perf_counter() - began
flags = sorted({f for d in parsed.drafts or [] for f in d.flags})
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(seconds, peak, parsed.error or "ok", ",".join(flags))
"""


def _doc(name: str, ctype: str, data: bytes) -> bytes:
    return mail(1, text="正文。", files=((name, ctype, data),))


# name -> (mail of size n, n, unit of n)
INPUTS: dict[str, tuple[Callable[[int], bytes], int, str]] = {
    "html <a": (lambda n: mail(1, html="<p>x</p>" + "<a" * n), 500_000, "tags"),
    'html <a x="': (lambda n: mail(1, html="<p>x</p>" + '<a x="' * n), 170_000, "tags"),
    "html <!--": (lambda n: mail(1, html="<p>x</p>" + "<!--" * n), 250_000, "comments"),
    "html <b>x</b>": (lambda n: mail(1, html="<b>x</b>" * n), 120_000, "tags"),
    "html 163 href": (lambda n: mail(1, html='<a href="' + "http://mail.163.com/" * n + 'download">a.zip</a>'),
                      50_000, "hosts"),
    "html digits 天": (lambda n: mail(1, html='<a href="http://mail.163.com/download">a.zip</a>' + "1" * n),
                       1_000_000, "digits"),
    "subject Re:": (lambda n: mail(1, subject="Re: " * n + "Report", text="x"), 120_000, "marks"),
    "plain body": (lambda n: mail(1, text="正文一段。\n" * n), 1_000_000, "lines"),
    "txt blank lines": (lambda n: _doc("a.txt", "text/plain", b"title\n" + b"\n" * n), 25 * MB, "lines"),
    "docx <w:p/>": (lambda n: _doc("a.docx", DOCX_CT, make_docx(b"<w:p/>" * n)), 10 * MB // 6, "paragraphs"),
    "docx empty runs": (lambda n: _doc("a.docx", DOCX_CT, make_docx(b"<w:p>" + b"<w:r/>" * n + b"</w:p>")),
                        2 * MB, "runs"),
    "docx lying sizes": (lambda n: _doc("a.docx", DOCX_CT, lying_docx(n)), 300, "MB inside"),
    "xlsx A1+XFD1048576": (lambda n: _doc("a.xlsx", XLSX_CT, sparse_roster_xlsx()), 1, "file"),
}


def measure(raw: bytes, work: Path) -> tuple[float, int, str]:
    """(seconds of the parse, peak RSS in MB of its process, outcome)."""
    path = work / "mail.eml"
    path.write_bytes(raw)
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(path), str(work / "store")],
                            stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read() if proc.stdout else ""
    if proc.wait() != 0:
        return float("nan"), 0, f"exit status {proc.returncode}"
    seconds, peak_kb, outcome = out.split(" ", 2)
    return float(seconds), int(peak_kb) // 1024, outcome.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="", help="run the inputs whose name contains this")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    rows, failed = [], False
    print(f"{'input':<20} {'N':>10} {'unit':<10} {'MB':>6} {'s(N)':>7} {'s(2N)':>7} {'ratio':>6} "
          f"{'RSS(N)':>7} {'RSS(2N)':>8}  outcome")
    for name, (make, n, unit) in INPUTS.items():
        if args.only not in name:
            continue
        with tempfile.TemporaryDirectory(prefix="parse-worst-") as tmp:
            raws = [make(n), make(2 * n)]
            (s1, r1, o1), (s2, r2, o2) = (measure(raw, Path(tmp)) for raw in raws)
        ratio = s2 / s1 if s1 >= RATIO_FROM else None
        miss = (not max(s1, s2) <= MAX_SECONDS or max(r1, r2) > MAX_RSS_MB  # (nan: the parse died)
                or (ratio or 0) > MAX_RATIO)
        failed |= miss
        shown = f"{ratio:6.2f}" if ratio is not None else f"{'-':>6}"
        print(f"{name:<20} {n:>10} {unit:<10} {len(raws[1]) / MB:6.1f} {s1:7.2f} {s2:7.2f} {shown} {r1:7d} {r2:8d}"
              f"  {o2}{'  MISS' if miss else ''}", flush=True)
        rows.append({"input": name, "n": n, "unit": unit, "mail_mb_2n": round(len(raws[1]) / MB, 2),
                     "seconds": [s1, s2], "ratio": ratio, "rss_mb": [r1, r2], "outcome": [o1, o2], "miss": miss})
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, ensure_ascii=False))
    print("FAIL" if failed else f"PASS: every parse < {MAX_SECONDS:g} s and < {MAX_RSS_MB} MB, "
          f"<= x{MAX_RATIO} per doubling")
    return 1 if failed else 0


if __name__ == "__main__":
    began = time.monotonic()
    code = main()
    print(f"({time.monotonic() - began:.0f} s)")
    sys.exit(code)
