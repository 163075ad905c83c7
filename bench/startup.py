"""How long `mailbridge --help` and `mailbridge check-config` take, wall clock (target: under 0.3 s).

    python bench/startup.py                 # the mailbridge beside this interpreter, 15 runs each
    python bench/startup.py --python /opt/mailbridge/bin/python -n 30

Prints the median and the worst of N runs per command, and the modules imported by each
(python -X importtime); exit 1 when a median misses the target.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = 0.3
CONFIG = """\
[database]
url = "sqlite:///mb.db"
[[mailboxes]]
name = "smxskx"
host = "imap.163.com"
username = "smxskx@163.com"
password_env = "MAILBRIDGE_SMXSKX_PASSWORD"
[smtp]
transport = "file"
"""


def timed(argv: list[str], runs: int, cwd: Path) -> list[float]:
    subprocess.run(argv, cwd=cwd, capture_output=True, check=True)  # warm the page cache and .pyc files
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, cwd=cwd, capture_output=True, check=True)
        out.append(time.perf_counter() - start)
    return out


def imports(argv: list[str], cwd: Path) -> int:
    done = subprocess.run([argv[0], "-X", "importtime", *argv[1:]], cwd=cwd, capture_output=True, text=True, check=False)
    return sum(1 for line in done.stderr.splitlines() if line.startswith("import time:")) - 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable, help="the interpreter mailbridge is installed for")
    parser.add_argument("-n", "--runs", type=int, default=15)
    args = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "config.toml").write_text(CONFIG, encoding="utf-8")
        for label, cmd in (("--help", ["--help"]), ("check-config", ["-c", "config.toml", "check-config"])):
            argv = [args.python, "-m", "mailbridge", *cmd]
            runs = timed(argv, args.runs, work)
            median, worst = statistics.median(runs), max(runs)
            verdict = "PASS" if median < TARGET else "FAIL"
            ok &= median < TARGET
            print(f"mailbridge {label:13} median {median:.3f} s, worst {worst:.3f} s over {len(runs)} runs, "
                  f"{imports(argv, work)} modules imported  [{verdict}: target {TARGET} s]")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
