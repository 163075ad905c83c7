#!/usr/bin/env python3
"""Ingest benchmark: mailbridge end to end against the raw IMAP ceiling, on a private Dovecot.

    python bench/ingest.py [-n 5000] [--seed 1] [--keep] [--quick] [--json FILE]

Fills a local Dovecot with N realistic submissions (a 20-60 KB .docx and 1-3 photos of 100-300 KB
each, see _mail.py), then measures, in one run:

* raw:  `UID FETCH n:m BODY.PEEK[]` in batches of 50 by imapclient alone (the ceiling);
* e2e:  `mailbridge -c cfg poll --once` as a subprocess: wall time, and peak RSS and CPU time
        from os.wait4() (its parse worker included), the peak RSS of mailbridge and its worker
        together, sampled; the ledger is then checked with `mailbridge messages list --json`;

for N/5 and N messages (separate users and databases: RSS must stay flat as N grows), for one
message with a 50 MB attachment, and for an empty mailbox (start-up cost and baseline RSS).

Targets (the issue): e2e >= 50% of the raw ceiling at N; peak RSS (both processes together)
< 200 MB in every run and flat from N/5 to N. `--profile DIR` also runs N/5 under cProfile (and py-spy when installed).
"""
from __future__ import annotations

import argparse
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(HERE))

from _mail import Generated, MailFactory
from imapclient import IMAPClient
from support.dovecot import CLIENT_ID, Dovecot

MB = 1024 * 1024
PASSWORD = "bench-pw"
PASSWORD_ENV = "MB_BENCH_PW"
RAW_BATCH = 50
TARGET_RATIO = 0.50
TARGET_RSS_MB = 200.0
MAILBRIDGE_PYTHON = sys.executable  # --python: measure a mailbridge installed in another environment
FLAT_SLACK = 0.10  # RSS at N may exceed RSS at N/5 by 10% (or 10 MB) and still be "flat"

CONFIG = """\
[database]
url = "sqlite:///{db}"
[storage]
dir = "{store}"
[smtp]
transport = "file"
dir = "{outbox}"
[ingest]
max_submissions_per_sender_per_day = 100000  # the synthetic mail is ~190 a day per address: all of it is work
# The same receipt work as the figures before the flood caps: only the per-sender daily cap applies.
[outbox]
max_automatic_per_hour = 0
max_automatic_per_day = 0
[receipts]
unknown_sender_days = 0
[[mailboxes]]
name = "bench"
host = "{host}"
port = {port}
security = "plain"
username = "{user}"
password_env = "{password_env}"
folders = ["INBOX"]
"""


@dataclass
class Run:
    label: str
    user: str
    messages: int = 0
    bytes: int = 0  # as served over IMAP (CRLF)
    raw_s: float | None = None
    raw_bytes: int | None = None
    raw_nodebug_s: float | None = None  # the same loop with imaplib's debug formatting off
    e2e_s: float | None = None
    e2e_rc: int | None = None
    e2e_cpu_s: float | None = None
    peak_rss_mb: float | None = None  # the largest single process (mailbridge or its parse worker)
    total_rss_mb: float | None = None  # mailbridge and its parse worker together (sampled peak)
    ledger_rows: int | None = None
    dispositions: dict[str, int] = field(default_factory=dict)
    output: str = ""

    @property
    def mb(self) -> float:
        return self.bytes / MB

    def rate(self, seconds: float | None) -> tuple[float | None, float | None]:
        if not seconds:
            return None, None
        return self.messages / seconds, self.mb / seconds

    @property
    def ratio(self) -> float | None:
        if not self.raw_s or not self.e2e_s:
            return None
        return self.raw_s / self.e2e_s

    @property
    def ratio_nodebug(self) -> float | None:
        if not self.raw_nodebug_s or not self.e2e_s:
            return None
        return self.raw_nodebug_s / self.e2e_s


# -- filling the mailboxes ---------------------------------------------------------------------


def mail_owner() -> tuple[int, int]:
    """The uid/gid Dovecot's userdb gives mail users (the helper's choice: nobody when root)."""
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        return nobody.pw_uid, nobody.pw_gid
    return os.getuid(), os.getgid()


def fill_maildir(dv: Dovecot, user: str, mails: Iterable[Generated]) -> tuple[int, int]:
    """Write messages straight into the user's Maildir new/, as a delivery agent would.

    Files keep LF line ends (as Dovecot stores them) and carry S= (file size) and W= (size with
    CRLF, what IMAP serves) so Dovecot needs no extra read; the mtime becomes INTERNALDATE.
    Returns (count, bytes as served over IMAP).
    """
    uid, gid = mail_owner()
    maildir = dv.maildir_path(user, "INBOX")
    for sub in ("", "cur", "new", "tmp"):
        (maildir / sub).mkdir(mode=0o700, exist_ok=True)
        os.chown(maildir / sub, uid, gid)
    new = maildir / "new"
    count = served = 0
    for g in mails:
        size = len(g.raw)
        vsize = size + g.raw.count(b"\n")
        stamp = int(g.date.timestamp())
        path = new / f"{stamp}.M{count:06d}P{os.getpid()}.mailbridge-bench,S={size},W={vsize}"
        with open(path, "wb") as out:
            out.write(g.raw)
        os.chown(path, uid, gid)
        os.utime(path, (stamp, stamp))
        count += 1
        served += vsize
    return count, served


def fill_append(dv: Dovecot, user: str, mails: Iterable[Generated]) -> tuple[int, int]:
    """The slow, ordinary way: IMAP APPEND over one connection (for comparison: --fill append)."""
    count = served = 0
    with dv.session(user) as client:
        for g in mails:
            raw = g.raw.replace(b"\n", b"\r\n")
            client.append("INBOX", raw, msg_time=g.date)
            count += 1
            served += len(raw)
    return count, served


def warm_up(dv: Dovecot, user: str) -> int:
    """SELECT once so Dovecot indexes the new files (untimed); returns the message count."""
    with dv.session(user) as client:
        info = client.select_folder("INBOX")  # read-write: new/ moves to cur/, like a real server
        uids = client.search("ALL")
        for i in range(0, len(uids), 1000):
            client.fetch(uids[i : i + 1000], ["RFC822.SIZE", "INTERNALDATE"])
        return int(info[b"EXISTS"])


# -- measuring ---------------------------------------------------------------------------------


def raw_fetch(dv: Dovecot, user: str, imaplib_debug: bool = True) -> tuple[float, int, int]:
    """imapclient alone: login, ID, SELECT, UID FETCH BODY.PEEK[] in batches. (seconds, msgs, bytes).

    IMAPClient sets imaplib's `debug = 5` and sends imaplib's debug lines to a logger, so imaplib
    formats the repr() of every response, whole message literals included, before the logger
    drops the line. imaplib_debug=False turns that off (`_imap.debug = 0`) to show what the
    transport itself can do.
    """
    start = time.perf_counter()
    client = IMAPClient(dv.host, dv.port, ssl=False, timeout=120)
    if not imaplib_debug:
        client._imap.debug = 0
    client.login(user, PASSWORD)
    client.id_(CLIENT_ID)
    client.select_folder("INBOX", readonly=True)
    uids = client.search("ALL")
    count = total = 0
    for i in range(0, len(uids), RAW_BATCH):
        data = client.fetch(uids[i : i + RAW_BATCH], ["BODY.PEEK[]"])
        for item in data.values():
            total += len(item[b"BODY[]"])
            count += 1
        del data
    client.logout()
    return time.perf_counter() - start, count, total


# Peak RSS must be measured on a process forked from a *small* one. Linux keeps a process's
# peak RSS across exec (signal->maxrss), and a child starts with its parent's resident pages
# (fork) or its parent's very mm (vfork/posix_spawn, which subprocess uses), so a child spawned
# straight from this bench would report the bench's own peak (the 50 MB message, the templates)
# as mailbridge's. A tiny launcher (python -S, ~8 MB) is exec'd first; it fork()s mailbridge,
# reaps it with os.wait4() and hands back that child's rusage. Its ru_maxrss is the peak of the
# largest single process (mailbridge, or a child it reaped: the parse worker), not of their sum,
# so the launcher also samples the resident pages of mailbridge and all its descendants every
# 10 ms and keeps the highest total (pages shared between them, such as libpython's, counted in
# each: an upper bound).
_LAUNCHER = """\
import json, os, sys, time
def tree_rss(pid):
    pages, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/statm") as f:
                pages += int(f.read().split()[1])
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except (OSError, ValueError):
            pass
    return pages * os.sysconf("SC_PAGE_SIZE") // 1024
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
peak = 0
while True:
    done, status, ru = os.wait4(pid, os.WNOHANG)
    if done:
        break
    peak = max(peak, tree_rss(pid))
    time.sleep(0.01)
with open(sys.argv[1], "w") as out:
    json.dump({"maxrss_kb": ru.ru_maxrss, "utime": ru.ru_utime, "stime": ru.ru_stime, "tree_rss_kb": peak}, out)
sys.exit(os.waitstatus_to_exitcode(status))
"""


@dataclass
class Usage:
    maxrss_kb: int
    utime: float
    stime: float
    tree_rss_kb: int = 0  # sampled peak of the total over mailbridge and its child processes


def mailbridge(cfg: Path, *args: str, out: Path) -> tuple[float, int, Usage | None]:
    """Run `python -m mailbridge -c cfg ARGS` to the end: (wall seconds, exit code, its rusage)."""
    env = dict(os.environ, **{PASSWORD_ENV: PASSWORD})
    usage_file = out.with_suffix(".rusage.json")
    argv = [sys.executable, "-S", "-c", _LAUNCHER, str(usage_file),
            MAILBRIDGE_PYTHON, "-m", "mailbridge", "-c", str(cfg), *args]
    with open(out, "wb") as sink:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT,
                                env=env, cwd=cfg.parent)
        proc.wait()
        elapsed = time.perf_counter() - start
    usage = Usage(**json.loads(usage_file.read_text())) if usage_file.exists() else None
    return elapsed, proc.returncode, usage


def write_config(dv: Dovecot, user: str, where: Path) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    cfg = where / "config.toml"
    cfg.write_text(CONFIG.format(db=where / "mb.db", store=where / "store", outbox=where / "outbox",
                                 host=dv.host, port=dv.port, user=user, password_env=PASSWORD_ENV))
    return cfg


def end_to_end(dv: Dovecot, run: Run, work: Path) -> None:
    cfg = write_config(dv, run.user, work / f"run-{run.user}")
    log = cfg.parent / "poll.log"
    run.e2e_s, run.e2e_rc, usage = mailbridge(cfg, "poll", "--once", out=log)
    run.output = log.read_text(errors="replace").strip()
    if usage is not None:
        run.peak_rss_mb = usage.maxrss_kb / 1024  # Linux: KB
        run.total_rss_mb = max(usage.tree_rss_kb, usage.maxrss_kb) / 1024
        run.e2e_cpu_s = usage.utime + usage.stime
    listing = cfg.parent / "messages.json"
    _, rc, _ = mailbridge(cfg, "messages", "list", "--json", out=listing)
    if rc == 0:
        rows = json.loads(listing.read_text())
        run.ledger_rows = len(rows)
        run.dispositions = dict(Counter(str(r.get("disposition")) for r in rows))


def profile(dv: Dovecot, run: Run, work: Path, outdir: Path) -> None:
    """Re-ingest one mailbox into fresh ledgers: once under cProfile, twice under py-spy if installed.

    cProfile sees only the main thread of the main process (record, commit, waiting for the parse
    worker). py-spy samples every thread of both processes (--subprocesses): with --idle every
    thread is sampled on every tick, without it only when on a CPU, so the ratio of the two is how
    busy each thread was; the fetch thread idling in Queue.put means fetching is fully hidden
    behind (and waiting for) the consumer, the main thread waiting in ParseWorker.result that the
    worker is the slower stage.
    """
    import pstats

    outdir = outdir.resolve()  # the runs below work in their own directories
    outdir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, **{PASSWORD_ENV: PASSWORD})
    cfg = write_config(dv, run.user, work / "profile-cprofile")
    prof = outdir / "e2e.prof"
    start = time.perf_counter()
    subprocess.run([MAILBRIDGE_PYTHON, "-m", "cProfile", "-o", str(prof), "-m", "mailbridge", "-c", str(cfg),
                    "poll", "--once"], env=env, check=True, stdout=subprocess.DEVNULL, cwd=cfg.parent)
    print(f"\n== cProfile, {run.label} ({time.perf_counter() - start:.1f} s, main thread only) -> {prof}")
    stats = pstats.Stats(str(prof))
    stats.sort_stats("cumulative").print_stats(r"mailbridge/|email/|docx/|sqlalchemy/orm/session|hashlib", 30)
    stats.sort_stats("tottime").print_stats(20)
    spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if not spy:
        print("py-spy not found; skipped (pip install py-spy)")
        return
    rate = 200
    counted: dict[str, Counter] = {}
    for mode, extra in (("idle", ["--idle"]), ("active", [])):
        cfg = write_config(dv, run.user, work / f"profile-pyspy-{mode}")
        out = outdir / f"pyspy-{mode}.txt"
        start = time.perf_counter()
        subprocess.run([spy, "record", "--threads", "--subprocesses", "--rate", str(rate), "--format", "raw", "-o", str(out),
                        *extra, "--", MAILBRIDGE_PYTHON, "-m", "mailbridge", "-c", str(cfg), "poll", "--once"],
                       env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       cwd=cfg.parent)
        counted[mode] = pyspy_threads(out)
        print(f"\n== py-spy {mode} ({time.perf_counter() - start:.1f} s) -> {out}")
        print(summarise_pyspy(out))
    print("\n== thread activity (on-CPU samples / all samples)")
    for thread, total in counted["idle"].items():
        active = counted["active"].get(thread, 0)
        print(f"  {thread}: {active}/{total} = {100 * active / max(total, 1):.0f}% on CPU")


def pyspy_threads(path: Path) -> Counter:
    per_thread: Counter = Counter()
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            per_thread[_thread_name(stack.split(";"))[0]] += int(count)
    return per_thread


def _thread_name(frames: list[str]) -> tuple[str, list[str]]:
    """The thread a stack was sampled in, and the stack's own frames.

    With --subprocesses a stack starts with `process PID:"argv"` (the parent's, then the child's),
    then `thread (0x7f..): Name`; the parse worker's threads are named after it. A thread with no
    name yet is the main thread before `threading` is imported (interpreter start-up).
    """
    process = ""
    while frames and frames[0].startswith("process "):
        process = "worker " if "mailbridge.parse.worker" in frames[0] else process
        frames = frames[1:]
    frame = frames[0] if frames else ""
    name = frame.split(": ", 1)[1] if ": " in frame else ""
    return process + (name or "MainThread (start-up)"), frames


def summarise_pyspy(path: Path, top: int = 10) -> str:
    """Samples per thread, with each thread's busiest leaf lines and mailbridge functions."""
    per_thread: Counter = Counter()
    leaves: dict[str, Counter] = {}
    ours: dict[str, Counter] = {}
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        thread, frames = _thread_name(stack.split(";"))
        n = int(count)
        per_thread[thread] += n
        leaves.setdefault(thread, Counter())[frames[-1]] += n
        for frame in {f.split(" (")[0] + " (" + f.split(" (")[-1].split(":")[0] + ")"
                      for f in frames[1:] if "mailbridge/" in f or "feedparser" in f or "docx/api" in f}:
            ours.setdefault(thread, Counter())[frame] += n
    lines = []
    total = sum(per_thread.values()) or 1
    for thread, n in per_thread.most_common():
        lines.append(f"  {thread}: {n} samples ({100 * n / total:.0f}%)")
        lines.append("    leaf lines:")
        lines += [f"      {100 * m / n:5.1f}%  {leaf}" for leaf, m in leaves[thread].most_common(top)]
        if ours.get(thread):
            lines.append("    inclusive (mailbridge, email.feedparser, docx.Document):")
            lines += [f"      {100 * m / n:5.1f}%  {f}" for f, m in ours[thread].most_common(2 * top)]
    return "\n".join(lines)


# -- reporting ---------------------------------------------------------------------------------


def fmt(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def report(runs: list[Run], n: int) -> dict:
    head = ["run", "msgs", "MB", "raw s", "raw msg/s", "raw MB/s", "raw' msg/s", "raw' MB/s", "e2e s",
            "e2e msg/s", "e2e MB/s", "ratio", "ratio'", "CPU/wall", "peak RSS MB", "Σ RSS MB", "ledger"]
    rows = []
    for r in runs:
        rm, rb = r.rate(r.raw_s)
        qm, qb = r.rate(r.raw_nodebug_s)
        em, eb = r.rate(r.e2e_s)
        cpu = r.e2e_cpu_s / r.e2e_s if r.e2e_cpu_s is not None and r.e2e_s else None
        ledger = "-" if r.ledger_rows is None else f"{r.ledger_rows} " + ",".join(
            f"{k}:{v}" for k, v in sorted(r.dispositions.items()))
        rows.append([r.label, str(r.messages), fmt(r.mb), fmt(r.raw_s, ".2f"), fmt(rm), fmt(rb), fmt(qm), fmt(qb),
                     fmt(r.e2e_s, ".2f"), fmt(em), fmt(eb),
                     "-" if r.ratio is None else f"{100 * r.ratio:.0f}%",
                     "-" if r.ratio_nodebug is None else f"{100 * r.ratio_nodebug:.0f}%", fmt(cpu, ".2f"),
                     fmt(r.peak_rss_mb), fmt(r.total_rss_mb), ledger])
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    print()
    print("  ".join(h.rjust(w) if i else h.ljust(w) for i, (h, w) in enumerate(zip(head, widths, strict=True))))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))))
    print("\nraw = imapclient UID FETCH BODY.PEEK[] alone (batches of 50), as shipped; raw' = the same with\n"
          "imaplib's debug formatting off (client._imap.debug = 0), the transport's own ceiling;\n"
          "e2e = `mailbridge poll --once` wall time incl. interpreter start-up;\n"
          "ratio = e2e throughput / raw throughput (the target), ratio' = against raw';\n"
          "CPU/wall = (user+sys)/wall of mailbridge and its parse worker (>1 means both cores were busy);\n"
          "peak RSS = the largest single process; Σ RSS = mailbridge + parse worker (sampled every 10 ms).")

    checks: list[tuple[str, bool | None, str]] = []
    small, full, big = (next((r for r in runs if r.user == user), None) for user in ("small", "full", "big"))
    for r in runs:
        ok = r.e2e_rc == 0 and (r.ledger_rows == r.messages)
        checks.append((f"{r.label}: poll exit 0 and {r.messages} ledger rows", ok,
                       f"exit {r.e2e_rc}, {r.ledger_rows} rows"))
    if full and full.ratio is not None:
        checks.append((f"{full.label}: e2e >= {TARGET_RATIO:.0%} of raw ceiling", full.ratio >= TARGET_RATIO,
                       f"{full.ratio:.0%}"))
    for r in (small, full, big):  # the total of both processes, which is what the machine gives
        if r and r.total_rss_mb is not None:
            checks.append((f"{r.label}: peak RSS (mailbridge + worker) < {TARGET_RSS_MB:.0f} MB",
                           r.total_rss_mb < TARGET_RSS_MB, f"{r.total_rss_mb:.1f} MB"))
    if full and small and full.total_rss_mb and small.total_rss_mb:
        allowed = max(10.0, FLAT_SLACK * small.total_rss_mb)
        growth = full.total_rss_mb - small.total_rss_mb
        checks.append((f"RSS flat from N/5 to N (growth <= {allowed:.0f} MB)", growth <= allowed,
                       f"{growth:+.1f} MB"))
    print()
    for name, ok, got in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {name}  ({got})")
    return {"n": n, "runs": [{k: v for k, v in asdict(r).items() if k != "output"} | {
                "raw_msgs_per_s": r.rate(r.raw_s)[0], "raw_mb_per_s": r.rate(r.raw_s)[1],
                "e2e_msgs_per_s": r.rate(r.e2e_s)[0], "e2e_mb_per_s": r.rate(r.e2e_s)[1],
                "raw_nodebug_msgs_per_s": r.rate(r.raw_nodebug_s)[0],
                "raw_nodebug_mb_per_s": r.rate(r.raw_nodebug_s)[1],
                "ratio": r.ratio, "ratio_nodebug": r.ratio_nodebug, "mb": r.mb} for r in runs],
            "checks": [{"check": c, "pass": ok, "value": got} for c, ok, got in checks],
            "all_pass": all(ok for _, ok, _ in checks)}


def code_state() -> str:
    """The mailbridge code measured: where it is imported from, and its git state when in this repo."""
    try:
        where = subprocess.run([MAILBRIDGE_PYTHON, "-c", "import mailbridge; print(mailbridge.__file__)"],
                               capture_output=True, text=True, check=True, cwd="/").stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return f"mailbridge cannot be imported by {MAILBRIDGE_PYTHON}"
    package = Path(where).parent
    if not package.is_relative_to(REPO):
        return f"installed at {package} ({MAILBRIDGE_PYTHON})"
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "mailbridge"],
                               capture_output=True, text=True, check=True).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return f"{package} (not a git checkout)"
    return f"this checkout, {head}" + (f" + uncommitted changes in {len(dirty)} file(s)" if dirty else "")


def load_note() -> str:
    one, five, _ = os.getloadavg()
    note = f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPUs"
    return note + ("  <- other work is running: figures will be noisy" if one > 0.5 else "")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=5000, help="messages in the main run (default 5000)")
    ap.add_argument("--quick", action="store_true", help="smoke run: N=300")
    ap.add_argument("--seed", type=int, default=1, help="seed of the generated mail (default 1)")
    ap.add_argument("--keep", action="store_true", help="keep the work dir (Maildirs, ledgers, logs)")
    ap.add_argument("--workdir", type=Path, help="where to work (default: a new temp dir)")
    ap.add_argument("--json", type=Path, metavar="FILE", help="also write the figures as JSON")
    ap.add_argument("--fill", choices=("maildir", "append"), default="maildir",
                    help="write Maildir files directly (default, fast) or IMAP APPEND them")
    ap.add_argument("--big-mb", type=int, default=50, help="attachment size of the big message")
    ap.add_argument("--python", metavar="EXE", default=sys.executable,
                    help="interpreter whose mailbridge is measured (default: this one), e.g. a venv "
                         "holding a released or older mailbridge")
    ap.add_argument("--profile", type=Path, metavar="DIR",
                    help="afterwards, profile an N/5 ingest (cProfile, and py-spy if installed)")
    args = ap.parse_args(argv)
    global MAILBRIDGE_PYTHON
    MAILBRIDGE_PYTHON = args.python
    n = 300 if args.quick else args.n
    if n < 5:
        ap.error("-n must be at least 5")
    if not Dovecot.available():
        print("dovecot is not installed (apt-get install dovecot-imapd)", file=sys.stderr)
        return 2

    work = args.workdir or Path(tempfile.mkdtemp(prefix="mailbridge-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    work.chmod(0o755)
    (work / "dovecot").mkdir(exist_ok=True)
    dv = Dovecot(root=work / "dovecot")
    runs = [Run("empty", "empty"), Run(f"N/5={n // 5}", "small"), Run(f"N={n}", "full"),
            Run(f"{args.big_mb}MB", "big")]
    print(f"mailbridge ingest bench: N={n}, seed {args.seed}, work dir {work}")
    print(f"mailbridge code: {code_state()}; Python {sys.version.split()[0]}; {load_note()}")
    try:
        start = time.perf_counter()
        factory = MailFactory(args.seed)
        print(f"templates: {len(factory.docs)} .docx {sorted(a.size // 1024 for _, a in factory.docs)} KB, "
              f"{len(factory.photos)} photos {min(a.size for a in factory.photos) // 1024}-"
              f"{max(a.size for a in factory.photos) // 1024} KB ({time.perf_counter() - start:.1f} s)")
        fill = fill_maildir if args.fill == "maildir" else fill_append

        def series(offset: int, count: int) -> Iterator[Generated]:
            return (factory.message(offset + i) for i in range(count))

        plan = {"empty": iter(()), "small": series(10**6, n // 5), "full": series(0, n),
                "big": iter([factory.big_message(args.big_mb)])}
        for run in runs:
            dv.add_user(run.user, PASSWORD)
            if args.fill == "append":
                dv.start()
            t = time.perf_counter()
            run.messages, run.bytes = fill(dv, run.user, plan[run.user])
            dt = time.perf_counter() - t
            print(f"filled {run.user}: {run.messages} msgs, {run.mb:.0f} MB via {args.fill} in {dt:.1f} s"
                  + (f" ({run.messages / dt:.0f} msgs/s)" if run.messages and dt else ""))
        dv.start()
        for run in runs:
            t = time.perf_counter()
            seen = warm_up(dv, run.user)
            assert seen == run.messages, f"{run.user}: Dovecot shows {seen} messages, wrote {run.messages}"
            print(f"indexed {run.user}: {seen} msgs in {time.perf_counter() - t:.1f} s")
        for run in runs:
            if run.messages:
                run.raw_s, got, run.raw_bytes = raw_fetch(dv, run.user)
                assert got == run.messages and run.raw_bytes == run.bytes, (got, run.raw_bytes, run.bytes)
                run.raw_nodebug_s, got, nbytes = raw_fetch(dv, run.user, imaplib_debug=False)
                assert got == run.messages and nbytes == run.bytes, (got, nbytes, run.bytes)
                print(f"raw fetch {run.label}: {run.raw_s:.2f} s (imaplib debug off: {run.raw_nodebug_s:.2f} s)")
            end_to_end(dv, run, work)
            print(f"e2e {run.label}: {run.e2e_s:.2f} s, peak RSS {fmt(run.peak_rss_mb)} MB "
                  f"(with the worker {fmt(run.total_rss_mb)} MB), exit {run.e2e_rc}: "
                  f"{run.output.splitlines()[-1] if run.output else ''}")
            if run.e2e_rc != 0:
                print(run.output, file=sys.stderr)
        result = report(runs, n)
        print(f"\nat the end: {load_note()}")
        result["code"], result["load_at_end"] = code_state(), os.getloadavg()
        if args.json:
            args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
            print(f"\nfigures written to {args.json}")
        if args.profile:
            profile(dv, runs[1], work, args.profile)
        return 0 if result["all_pass"] else 1
    finally:
        dv.stop()
        if args.keep:
            print(f"\nkept {work} (Dovecot stopped)")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
