#!/usr/bin/env python3
"""Province-scale benchmark (issue 15): the books of a whole province, read and written.

    python bench/province.py                  # 10k, 100k and 300k submissions (~25 min on 2 cores)
    python bench/province.py --sizes 100000   # one size
    python bench/province.py --quick          # a smoke run on tiny sizes (seconds; figures meaningless)
    python bench/province.py --json figures.json --keep --workdir /tmp/prov
    python bench/province.py --db postgresql  # the same on a private PostgreSQL (tests/support/postgres.py)

For each size a ledger is built deterministically (`--seed`) through the project's models: 2,000
units with 3,336 addresses, the submissions of 2025 (three years, 2023-2025, above 100k) with a
busy June, one message per submission (some with two documents), a .docx attachment each and
photos for some, 3% resubmissions, 30% adopted, 22% waiting for review, a sent receipt of ~4.4 KB
for most messages. Then every operation of the issue's table runs as `python -m mailbridge` in a
subprocess, its wall time and peak RSS measured through bench/ingest.py's launcher (median of
`--repeat` runs for the operations under 10 s), and `--mails` real mails (tests/mailfactory.py:
a .docx and a photo each, from roster addresses) go through `mailbridge import --receipts` last,
on an empty ledger too: the seconds per mail must not grow with the history.

Also measured: one mail imported while `scorecard --year` runs (a read must not hold up a write).
Prints a Markdown table; wall times move with the machine's other work (load average shown), so
each operation's CPU time (user + system, its children included) is shown beside it.

With `--db postgresql` the ledgers are databases (one per size) on a private PostgreSQL cluster
started for the run (initdb in a temp folder, a free port on 127.0.0.1, the test suite's server:
tests/support/postgres.py, but with the server's default durability, fsync on, where the tests
turn it off) and stopped at the end, also on an error or Ctrl-C. The ledger is built
by the same code; then the id sequences are moved past the ids written and `VACUUM ANALYZE` runs
(what autovacuum would do soon after, but not in the middle of a timed operation). The server's
CPU time is measured apart (the backends the operation's connections ran, as the postmaster reaps
them) and shown as "+ N server".
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(HERE))

import ingest  # its launcher measures peak RSS right
from support.mailfactory import make_mail
from sqlalchemy import Integer, insert, make_url, text, update

from mailbridge.ledger.db import Database, ensure_schema
from mailbridge.ledger.models import (
    Address,
    Adoption,
    Attachment,
    Base,
    Message,
    Officer,
    Outgoing,
    Submission,
    Unit,
)

CST = dt.timezone(dt.timedelta(hours=8))
UNIT_TYPES = ("county",) * 3 + ("society", "enterprise", "university", "department")
CHANNELS = ("website", "wechat", "weibo", "cast", "province_site", "province_media", "city_briefing")
SENTENCES = ("县科协组织开展科普进社区活动，", "发放宣传资料三千余份，", "邀请专家现场讲解防灾减灾知识，",
             "群众反响热烈。", "会议要求各级科协组织切实履行职责，", "推动科技志愿服务常态化，",
             "全面提升公民科学素质。", "本次培训共有二百余名基层科技工作者参加。")
RECEIPT = b"x" * 4400  # a receipt's stored bytes (401 MB / 91,116 in the issue)
CONFIG = """\
[database]
url = "{url}"
[storage]
dir = "{store}"
[smtp]
transport = "file"
dir = "{outbox}"
[ingest]
max_submissions_per_sender_per_day = 100000
[receipts]
max_age_days = 0
max_per_sender_per_day = 0
unknown_sender_days = 0
[outbox]
max_automatic_per_hour = 0
max_automatic_per_day = 0
"""


def months_of(years: list[int]) -> list[tuple[str, float]]:
    """(YYYY-MM, weight): June is the busy month (8,655 of 102,000 in the issue)."""
    return [(f"{y}-{m:02d}", 0.085 if m == 6 else 0.915 / 11) for y in years for m in range(1, 13)]


class SqliteBooks:
    """Ledgers as SQLite files in the work dir (the default)."""

    kind = "sqlite"

    def __init__(self, work: Path) -> None:
        self.work = work

    def create(self, name: str) -> str:
        return f"sqlite:///{self.work / name}.db"

    def after_build(self, db: Database) -> None:
        """Nothing: the SQLite figures are those of the ledger as written."""

    def size_mb(self, url: str) -> float:
        return Path(make_url(url).database or "").stat().st_size / 2**20

    def opened(self, pid: int, url: str) -> bool:
        """Process `pid` has opened the ledger (its -shm is mapped)."""
        return _maps(pid, ".db-shm")

    def server_cpu(self, url: str) -> float:
        return 0.0  # no server: the queries run inside the measured process

    def describe(self) -> str:
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}"

    def close(self) -> None:
        pass


class PostgresBooks(SqliteBooks):
    """Ledgers as databases on a private PostgreSQL cluster, stopped and removed by `close()`."""

    kind = "postgresql"

    def __init__(self, work: Path) -> None:
        from support.postgres import Postgres

        super().__init__(work)
        self._conn: Any = None
        self.server = Postgres(durable=True)  # commits fsync'd as deployed: the ingest figures mean something
        try:
            self.server.start()
        except BaseException:
            self.server.close()
            raise
        self.postmaster = int((self.server.data / "postmaster.pid").read_text().split()[0])
        print(f"PostgreSQL cluster {self.server.root} on port {self.server.port} (removed at the end)", flush=True)

    def create(self, name: str) -> str:
        return self.server.create_database(prefix=f"{name.replace('-', '_')}_")

    def query(self, sql: str, *args: object) -> list[tuple]:
        # One connection for the whole run: a backend started per poll would end inside a timed
        # operation and count as its server CPU.
        if self._conn is None:
            import psycopg
            from support.postgres import HOST, SUPERUSER

            self._conn = psycopg.connect(host=HOST, port=self.server.port, user=SUPERUSER, dbname="postgres",
                                         autocommit=True)
        return self._conn.execute(sql, args).fetchall()

    def after_build(self, db: Database) -> None:
        # build() writes explicit ids, which PostgreSQL's sequences do not see: without this the
        # first row mailbridge inserts would take id 1 again (SQLite picks max(rowid) + 1 itself).
        with db.session() as s:
            for table in Base.metadata.sorted_tables:
                column = table.columns.get("id")
                if column is None or not column.primary_key or not isinstance(column.type, Integer):
                    continue
                s.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                               f"coalesce((SELECT max(id) FROM {table.name}), 0) + 1, false)"))
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")

    def size_mb(self, url: str) -> float:
        [(size,)] = self.query("SELECT pg_database_size(%s)", make_url(url).database)
        return size / 2**20

    def opened(self, pid: int, url: str) -> bool:
        """A connection to the ledger's database is open (nothing else connects to it meanwhile)."""
        return bool(self.query("SELECT 1 FROM pg_stat_activity WHERE datname = %s", make_url(url).database))

    def server_cpu(self, url: str) -> float:
        """CPU seconds of the backends that have ended so far: the postmaster's reaped children
        (/proc/PID/stat cutime + cstime). Waits until no connection to `url` is left, so the
        backends of an operation that just ended are counted (each exits when its client does)."""
        deadline = time.monotonic() + 30
        while self.opened(0, url) and time.monotonic() < deadline:
            time.sleep(0.01)
        fields = Path(f"/proc/{self.postmaster}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")  # fields 16, 17 of proc(5)

    def describe(self) -> str:
        [(version,)] = self.query("SHOW server_version")
        return f"PostgreSQL {version} (default durability, tests/support/postgres.py)"

    def close(self) -> None:
        try:
            if self._conn is not None:
                self._conn.close()
        finally:
            self.server.close()


BOOKS = {"sqlite": SqliteBooks, "postgresql": PostgresBooks}


def build(books: SqliteBooks, url: str, submissions: int, units: int, addresses: int, seed: int) -> dict:
    """The ledger at `url`; returns what was written (counts, seconds)."""
    rng = random.Random(seed)
    started = time.perf_counter()
    db = Database(url)
    ensure_schema(db.engine)
    years = [2025] if submissions <= 120_000 else [2023, 2024, 2025]
    months = months_of(years)
    counts = dict.fromkeys(("messages", "submissions", "attachments", "adoptions", "receipts"), 0)
    with db.session() as s:
        s.execute(insert(Unit), [{"id": i + 1, "name": f"第{i + 1:04d}号单位科协", "type": UNIT_TYPES[i % len(UNIT_TYPES)],
                                  "active": True} for i in range(units)])
        s.execute(insert(Officer), [{"id": i + 1, "unit_id": i + 1, "name": f"信息员{i + 1}"} for i in range(units)])
        s.execute(insert(Address), [{"address": address_of(i), "unit_id": i % units + 1, "officer_id": i % units + 1}
                                    for i in range(addresses)])
    # Units send unevenly: a few counties most of it.
    weights = [1 / (1 + i % 97) for i in range(addresses)]
    msg_id = sub_id = att_id = 0
    numbers: dict[str, int] = {}
    last_of_unit: dict[int, tuple[int, int]] = {}  # unit -> (first version id, latest id)
    superseded: list[int] = []
    batch: dict[str, list[dict]] = {k: [] for k in ("messages", "submissions", "attachments", "adoptions", "outbox")}

    def flush() -> None:
        with db.session() as s:
            for table, model in (("messages", Message), ("attachments", Attachment), ("submissions", Submission),
                                 ("adoptions", Adoption), ("outbox", Outgoing)):
                if batch[table]:
                    s.execute(insert(model), batch[table])
                    batch[table].clear()

    while sub_id < submissions:
        month = rng.choices([m for m, _ in months], [w for _, w in months])[0]
        year, mon = int(month[:4]), int(month[5:])
        day = rng.randint(1, 28)
        when = dt.datetime(year, mon, day, rng.randint(7, 21), rng.randint(0, 59), tzinfo=CST)
        who = rng.choices(range(addresses), weights)[0]
        unit = who % units + 1
        msg_id += 1
        docs = 2 if rng.random() < 0.05 else 1
        batch["messages"].append({
            "id": msg_id, "mailbox": "smxskx", "folder": "INBOX", "uidvalidity": 1, "uid": msg_id,
            "message_id": f"<{msg_id}.{seed}@163.com>", "sha256": f"{msg_id:064x}", "content_hash": f"{msg_id:063x}c",
            "dedup_key": f"{msg_id:063x}c", "size": 180_000, "received_at": when, "sender": address_of(who),
            "sender_name": f"信息员{unit}", "subject": f"【第{unit:04d}号单位科协】信息报送", "state": "processed",
            "disposition": "submission", "processed_at": when, "created_at": when})
        photos = 1 if rng.random() < 0.3 else 0
        for position in range(1, docs + photos + 1):
            att_id += 1
            document = position <= docs
            batch["attachments"].append({
                "id": att_id, "message_row_id": msg_id, "position": position,
                "filename": f"稿件{msg_id}-{position}.docx" if document else "活动照片.jpg",
                "content_type": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
                if document else "image/jpeg", "size": 40_000 if document else 150_000,
                "sha256": f"{att_id:064x}", "kind": "document" if document else "image", "flags": []})
            if not document or sub_id >= submissions:
                continue
            sub_id += 1
            numbers[month] = numbers.get(month, 0) + 1
            version_of = None
            if unit in last_of_unit and rng.random() < 0.03:  # a corrected version of the unit's last article
                first, latest = last_of_unit[unit]
                version_of = first
                superseded.append(latest)
            last_of_unit[unit] = (version_of or sub_id, sub_id)
            adopted = rng.random() < 0.30
            text = "".join(rng.choice(SENTENCES) for _ in range(24))
            batch["submissions"].append({
                "id": sub_id, "message_row_id": msg_id, "document_id": att_id,
                "receipt_no": f"SMX-{month}-{numbers[month]:05d}", "title": f"第{unit:04d}号单位科协{month}信息{sub_id}",
                "text": text, "body_chars": len(text), "category": rng.choice(("news", "news", "news", "research")),
                "unit_id": unit, "version_of": version_of, "status": "received", "flags": [], "links": [],
                "month": month, "created_at": when,
                "review_status": "adopted" if adopted else ("pending" if rng.random() < 0.28 else "rejected")})
            if adopted:
                for channel in rng.sample(CHANNELS, rng.choice((1, 1, 2))):
                    batch["adoptions"].append({
                        "submission_id": sub_id, "channel": channel, "adopted_on": (when + dt.timedelta(days=rng.randint(1, 20))).date(),
                        "actor": "clerk@smxkx", "via": "sheet", "created_at": when})
                    counts["adoptions"] += 1
        if rng.random() < 0.94:
            batch["outbox"].append({
                "key": f"receipt:{msg_id}", "kind": "receipt", "recipients": [address_of(who)], "subject": "回执",
                "message_id": f"<r{msg_id}@smxkx>", "data": RECEIPT, "status": "sent", "attempts": 1,
                "next_attempt_at": when, "created_at": when, "sent_at": when, "message_row_id": msg_id})
            counts["receipts"] += 1
        if len(batch["messages"]) >= 5000:
            flush()
    flush()
    with db.session() as s:
        for start in range(0, len(superseded), 500):
            s.execute(update(Submission).where(Submission.id.in_(superseded[start:start + 500]))
                      .values(status="superseded"))
    books.after_build(db)
    db.dispose()
    counts.update(messages=msg_id, submissions=sub_id, attachments=att_id)
    counts["seconds"] = round(time.perf_counter() - started, 1)
    counts["db_mb"] = round(books.size_mb(url))
    return counts


def address_of(i: int) -> str:
    return f"xxy{i:04d}@163.com"


def roster_mails(folder: Path, count: int, units: int, start: int) -> Path:
    """`count` real mails from roster addresses (a .docx and a photo each)."""
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(start, start + count):
        who = n % units
        raw = make_mail(n, unit=f"第{who % units + 1:04d}号单位科协", sender=address_of(who),
                        message_id=f"<bench.{n}@163.com>")
        (folder / f"{n:05d}.eml").write_bytes(raw)
    return folder


class Bench:
    def __init__(self, work: Path, repeat: int, books: SqliteBooks) -> None:
        self.work = work
        self.repeat = repeat
        self.books = books
        self.urls: dict[Path, str] = {}

    def config(self, name: str, url: str) -> Path:
        where = self.work / name
        where.mkdir(parents=True, exist_ok=True)
        cfg = where / "config.toml"
        cfg.write_text(CONFIG.format(url=url, store=where / "store", outbox=where / "outbox"), encoding="utf-8")
        self.urls[cfg] = url
        return cfg

    def run(self, cfg: Path, *args: str, repeat: int | None = None) -> dict:
        """Wall seconds, peak RSS (MB), CPU seconds (the process's, the server's) of `mailbridge
        ARGS`: the median of up to `repeat` runs (one only when the first takes 10 s or more)."""
        runs = []
        for i in range(repeat or self.repeat):
            out = cfg.parent / f"out-{args[0]}-{i}.txt"
            server_before = self.books.server_cpu(self.urls[cfg])
            wall, rc, usage = ingest.mailbridge(cfg, *args, out=out)
            if rc != 0:
                raise SystemExit(f"mailbridge {' '.join(args)} exited {rc}:\n{out.read_text(errors='replace')[-2000:]}")
            runs.append((wall, usage.maxrss_kb / 1024 if usage else float("nan"),
                         usage.utime + usage.stime if usage else float("nan"),
                         self.books.server_cpu(self.urls[cfg]) - server_before))
            if wall >= 10:
                break
        return {"s": statistics.median(r[0] for r in runs), "mb": statistics.median(r[1] for r in runs),
                "cpu": statistics.median(r[2] for r in runs), "server_cpu": statistics.median(r[3] for r in runs),
                "runs": len(runs), "out_bytes": out.stat().st_size}

    def write_during_read(self, cfg: Path, mail: Path) -> dict:
        """Import one mail while `scorecard --year 2025` runs: the import's wall time."""
        env = dict(os.environ)
        reader = subprocess.Popen([sys.executable, "-m", "mailbridge", "-c", str(cfg), "scorecard", "--year", "2025",
                                   "--json"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        # Readiness: the reader is past start-up once it has opened the ledger (SQLite: its -shm
        # mapped; PostgreSQL: its connection open).
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not self.books.opened(reader.pid, self.urls[cfg]):
            time.sleep(0.01)
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "mailbridge", "-c", str(cfg), "import", str(mail)],
                              capture_output=True, env=env, check=False)
        wall = time.perf_counter() - started
        still_reading = reader.poll() is None
        reader.communicate()
        return {"s": wall, "rc": done.returncode, "reader_still_running": still_reading}


def _maps(pid: int, suffix: str) -> bool:
    try:
        return any(line.rstrip().endswith(suffix) for line in Path(f"/proc/{pid}/maps").read_text().splitlines())
    except OSError:
        return False


OPERATIONS = [
    ("scorecard --month 2025-06 --json", ("scorecard", "--month", "2025-06", "--json")),
    ("scorecard --quarter 2025-Q3 --json", ("scorecard", "--quarter", "2025-Q3", "--json")),
    ("scorecard --year 2025 --json", ("scorecard", "--year", "2025", "--json")),
    ("scorecard --month 2025-06 --xlsx", ("scorecard", "--month", "2025-06", "--xlsx", "card.xlsx")),
    ("scorecard --month 2025-06 --docx", ("scorecard", "--month", "2025-06", "--docx", "card.docx")),
    ("submissions list --json (all)", ("submissions", "list", "--json")),
    ("messages list --json", ("messages", "list", "--json")),
    ("review --json (first page)", ("review", "--json")),
]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,100000,300000", help="submissions per ledger, comma-separated")
    ap.add_argument("--units", type=int, default=2000)
    ap.add_argument("--addresses", type=int, default=3336)
    ap.add_argument("--mails", type=int, default=300, help="real mails imported (with receipts) per ledger")
    ap.add_argument("--repeat", type=int, default=3, help="runs per operation under 10 s (the median is shown)")
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--quick", action="store_true", help="tiny sizes, one run each: a smoke run")
    ap.add_argument("--db", choices=sorted(BOOKS), default="sqlite",
                    help="where the ledgers live: SQLite files, or a private PostgreSQL cluster started for the run")
    ap.add_argument("--workdir", type=Path)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--json", type=Path, metavar="FILE")
    args = ap.parse_args(argv)
    if args.quick:
        args.sizes, args.units, args.addresses, args.mails, args.repeat = "400", 40, 60, 4, 1
    sizes = [int(x) for x in args.sizes.split(",")]
    work = args.workdir or Path(tempfile.mkdtemp(prefix="mb-province-"))
    work.mkdir(parents=True, exist_ok=True)
    # SIGTERM ends the run like Ctrl-C does, through the finally below: the cluster is stopped.
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
    books = BOOKS[args.db](work)
    try:
        results = measure(Bench(work, args.repeat, books), args, sizes)
    finally:
        books.close()
    print(table(results, sizes, args.mails))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    if not args.keep and not args.workdir:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return 0


def measure(bench: Bench, args: argparse.Namespace, sizes: list[int]) -> dict:
    books, work = bench.books, bench.work
    print(f"load average at start: {os.getloadavg()[0]:.1f}; {books.describe()}; work dir {work}", flush=True)
    results: dict = {"db": books.kind, "server": books.describe(), "sizes": {}, "load_start": os.getloadavg()}
    empty = books.create("empty")
    build(books, empty, 0, args.units, args.addresses, args.seed)
    mails = roster_mails(work / "mails", args.mails, args.units, start=1)
    one = roster_mails(work / "one", 1, args.units, start=90_000)
    ingest_empty = bench.run(bench.config("empty", empty), "import", "--receipts", str(mails), repeat=1)
    results["ingest_empty"] = dict(ingest_empty, per_mail_ms=1000 * ingest_empty["s"] / max(args.mails, 1))
    for size in sizes:
        db = books.create(f"ledger-{size}")
        print(f"building {size:,} submissions ...", flush=True)
        built = build(books, db, size, args.units, args.addresses, args.seed)
        print(f"  {built}", flush=True)
        cfg = bench.config(f"run-{size}", db)
        figures: dict = {"built": built}
        for label, op in OPERATIONS:
            figures[label] = bench.run(cfg, *op)
            print(f"  {label}: {figures[label]['s']:.2f} s ({cpu(figures[label])}), "
                  f"{figures[label]['mb']:.0f} MB", flush=True)
        figures["import 1 mail during scorecard --year"] = bench.write_during_read(cfg, one)
        imported = bench.run(cfg, "import", "--receipts", str(mails), repeat=1)
        figures["ingest"] = dict(imported, per_mail_ms=1000 * imported["s"] / max(args.mails, 1))
        results["sizes"][size] = figures
    results["load_end"] = os.getloadavg()
    return results


def cpu(figure: dict, per: int | None = None) -> str:
    """CPU seconds of mailbridge and of the database server if any (ms per item given `per`)."""
    def show(seconds: float) -> str:
        return f"{seconds:.2f}" if per is None else f"{1000 * seconds / max(per, 1):.1f} ms"

    shown = f"{show(figure['cpu'])} CPU"
    if figure.get("server_cpu"):
        shown += f" + {show(figure['server_cpu'])} server"
    return shown


def table(results: dict, sizes: list[int], mails: int) -> str:
    head = "| operation | " + " | ".join(f"{s:,} submissions" for s in sizes) + " |"
    lines = [head, "|---|" + "---|" * len(sizes)]
    for label, _ in OPERATIONS:
        lines.append(f"| `{label}` | " + " | ".join(
            f"{results['sizes'][s][label]['s']:.2f} s ({cpu(results['sizes'][s][label])}), "
            f"{results['sizes'][s][label]['mb']:.0f} MB" for s in sizes) + " |")
    key = "import 1 mail during scorecard --year"
    lines.append(f"| {key} | " + " | ".join(f"{results['sizes'][s][key]['s']:.2f} s" for s in sizes) + " |")
    lines.append(f"| {mails} mails with receipts (empty db: {results['ingest_empty']['s']:.1f} s, "
                 f"{results['ingest_empty']['per_mail_ms']:.1f} ms/mail, "
                 f"{cpu(results['ingest_empty'], mails)}) | " + " | ".join(
                     f"{results['sizes'][s]['ingest']['s']:.1f} s, {results['sizes'][s]['ingest']['per_mail_ms']:.1f} ms/mail "
                     f"({cpu(results['sizes'][s]['ingest'], mails)}), "
                     f"{results['sizes'][s]['ingest']['mb']:.0f} MB" for s in sizes) + " |")
    lines.append("| ledger (built in) | " + " | ".join(
        f"{results['sizes'][s]['built']['db_mb']} MB ({results['sizes'][s]['built']['seconds']} s)" for s in sizes) + " |")
    start, end = results["load_start"], results["load_end"]
    lines.append(f"\n{results['server']}; load average: start {start[0]:.1f}, end {end[0]:.1f} "
                 f"({os.cpu_count()} cores)")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
