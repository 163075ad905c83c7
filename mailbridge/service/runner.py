"""The daemon: everything loaded and checked first, then scheduled jobs until SIGTERM (Mailman's runner).

One runner per database (service.lock). Jobs run on APScheduler's thread pool; the main thread
waits for signals, pings systemd's watchdog and keeps the lock's heartbeat. The policy:

- an operational error (server down, login refused, SMTP 4xx) is recorded and logged when the
  state changes, and the job runs again at its next time;
- anything else is a bug: the traceback is logged, the daemon stops and exits 4, so systemd
  restarts it and the journal shows why;
- SIGTERM finishes the message (or mail) in hand and exits 0; SIGHUP re-reads the config and keeps
  the old one, saying why, when the new one is invalid.
"""
from __future__ import annotations

import logging
import signal
import threading
import time
from datetime import datetime
from functools import partial
from pathlib import Path
from collections.abc import Callable

from sqlalchemy.exc import OperationalError

from mailbridge import config as config_mod
from mailbridge import logs
from mailbridge.config import Config
from mailbridge.errors import ConfigError, MailbridgeError, PermanentError, TransientError
from mailbridge.ledger.db import Database, ensure_schema
from mailbridge.ledger.models import utcnow
from mailbridge.service import health, lock, schedule, systemd
from mailbridge.service.status import job_ids

log = logging.getLogger(__name__)
# What a job may meet in normal operation: logged, retried at the next run. sqlalchemy's
# OperationalError is the database being away or locked (a PostgreSQL restart), not a bug.
OPERATIONAL = (TransientError, ConfigError, PermanentError, OperationalError)
SCHEDULE_TICK = 30  # seconds: a scheduled mail goes within a minute of its time
UPKEEP_SECONDS = 6 * 3600  # old sent mail's bytes dropped, planner statistics refreshed (outbox job)


def load_checked(path: Path | None) -> Config:
    """The config, with everything it names loaded and checked: scoring profile, templates.

    A broken one is a ConfigError naming the file or key (exit 2), before any job runs.
    """
    from mailbridge.render import check_templates
    from mailbridge.score.profile import load_profile

    config = config_mod.load(path)
    load_profile(config)
    check_templates(config)
    schedule.jobs(config)  # every crontab of [schedule] parses
    return config


class Runner:
    """`mailbridge run` (all jobs) and `mailbridge poll` (polling and the outbox only)."""

    def __init__(self, config_path: Path | None, *, polling_only: bool = False) -> None:
        self.config_path = config_path
        self.polling_only = polling_only
        self.stop = threading.Event()
        self.reload = threading.Event()
        self._attention = threading.Event()  # wakes the main loop: a signal, or a job's bug
        self.fatal: BaseException | None = None
        self.config = load_checked(config_path)
        self.db = Database(self.config.database.url)
        ensure_schema(self.db.engine)
        self.lock = lock.RunLock(self.db, lock.name_for(self.db, [b.name for b in self.config.mailboxes]))
        self._wakes: dict[str, threading.Event] = {}
        self._flush_lock = threading.Lock()
        self._outbox_error: str | None = None
        self._idle: list[threading.Thread] = []
        self._scheduled: list[schedule.Job] = []
        self._ticked = False
        self._upkeep_due = 0.0
        self._db_lost: tuple[datetime, str] | None = None  # since when (UTC) and why the database is away
        self._build()

    def _build(self) -> None:
        from apscheduler.schedulers.background import BackgroundScheduler

        from mailbridge.pipeline import Pipeline

        self.pipeline = Pipeline(self.config, self.db)
        self.scheduler = BackgroundScheduler(timezone=self.config.ingest.timezone,
                                             job_defaults={"coalesce": True, "max_instances": 1,
                                                           "misfire_grace_time": None})
        # The runner logs every job's outcome itself; APScheduler's own lines would double them.
        logging.getLogger("apscheduler").setLevel(logging.ERROR)

    # -- the jobs -----------------------------------------------------------------------------
    def _schedule(self) -> None:
        config, now = self.config, datetime.now(self.config.ingest.zone)
        add = self.scheduler.add_job
        for box in config.mailboxes:
            if box.enabled:
                self._wakes[box.name] = threading.Event()
                add(self._guard(f"poll:{box.name}", self._poll, box.name), "interval", id=f"poll:{box.name}",
                    seconds=config.schedule.poll_interval_seconds, next_run_time=now)
        add(self._guard("outbox", self._outbox), "interval", id="outbox",
            seconds=config.schedule.outbox_interval_seconds, next_run_time=now)
        if not self.polling_only:
            for at in config.schedule.digest_times:
                hour, minute = at.split(":")
                add(self._guard(f"digest:{at}", self._digest), "cron", id=f"digest:{at}",
                    hour=int(hour), minute=int(minute))
            add(self._guard("health", self._health), "interval", id="health", seconds=60, next_run_time=now)
            # Scheduled mail: the first tick at start catches up what was missed while we were down.
            self._scheduled = schedule.jobs(config)
            add(self._guard("schedule", self._tick), "interval", id="schedule", seconds=SCHEDULE_TICK,
                next_run_time=now)
        scheduled = {j.id for j in self.scheduler.get_jobs()} | {j.id for j in self._scheduled}
        assert scheduled == set(job_ids(config, self.polling_only))

    def _guard(self, job_id: str, fn: Callable[..., None], *args: object) -> Callable[[], None]:
        def run() -> None:
            if self.stop.is_set():
                return
            try:
                fn(*args)
            except OPERATIONAL as exc:
                log.warning("%s: %s", job_id, exc)
            except BaseException as exc:  # a bug: stop loudly, systemd restarts us (exit 4)
                log.critical("%s: internal error; stopping the daemon", job_id, exc_info=True)
                self.fatal = exc
                self._request(self.stop)
        return run

    def _poll(self, name: str) -> None:
        from mailbridge.sources.imap import ImapSource

        wake = self._wakes[name]
        while True:
            wake.clear()  # mail that lands from here on wakes another round
            box = self.config.mailbox(name)
            try:
                stats = ImapSource(box, self.pipeline, stop=self.stop).poll()
            except (TransientError, ConfigError) as exc:
                if health.record_failure(self.db, name, str(exc)):  # logged when it starts or changes
                    log.error("mailbox %s: %s", name, exc)
                self._health()  # a mailbox failing for alert_after_minutes is told at once
                return
            if stats.skipped is None:
                failing_since = health.record_success(self.db, name, stats.new)
                if failing_since is not None:
                    log.warning("mailbox %s: working again (failing since %s)", name,
                                failing_since.isoformat(timespec="seconds"))
                self._health()
            if stats.new:
                log.info("mailbox %s: %d new (%s)", name, stats.new,
                         ", ".join(f"{k} {v}" for k, v in sorted(stats.dispositions.items())))
                self._flush()  # receipts leave now, not at the next outbox round
            if not wake.is_set() or self.stop.is_set():
                return

    def wake(self, name: str) -> None:
        """New mail (IDLE): poll now, or once more right after the poll in progress."""
        wake = self._wakes.get(name)
        if wake is None:  # the mailbox left the config at a reload
            return
        wake.set()
        job = self.scheduler.get_job(f"poll:{name}")
        if job is not None:
            job.modify(next_run_time=datetime.now(self.config.ingest.zone))

    def _flush(self) -> None:
        from mailbridge.notify.sender import Sender

        with self._flush_lock:  # jobs flushing at once would only wait for each other's lease
            try:
                stats = Sender(self.config, self.db).flush(stop=self.stop)
            except MailbridgeError as exc:
                if str(exc) != self._outbox_error:
                    log.error("outbox: %s", exc)
                self._outbox_error = str(exc)
                return
        if self._outbox_error:
            log.warning("outbox: sending again")
        self._outbox_error = None
        if stats.sent or stats.failed or stats.retrying:
            log.info("outbox: %d sent, %d waiting to retry, %d failed", stats.sent, stats.retrying, stats.failed)

    def _outbox(self) -> None:
        self._flush()
        if time.monotonic() >= self._upkeep_due:  # at start, then every UPKEEP_SECONDS
            self._upkeep_due = time.monotonic() + UPKEEP_SECONDS
            self._upkeep()

    def _upkeep(self) -> None:
        """Drop the bytes of old sent mail (outbox.keep_sent_days) and refresh the planner's statistics."""
        from mailbridge.ledger.db import keep_statistics
        from mailbridge.notify.outbox import drop_sent_bytes

        dropped = 0
        while not self.stop.is_set():
            with self.db.session() as s:
                done = drop_sent_bytes(s, self.config.outbox.keep_sent_days)
            dropped += done
            if done < 1000:
                break
        if dropped:
            log.info("outbox: the bytes of %d sent mail(s) dropped (outbox.keep_sent_days = %d)", dropped,
                     self.config.outbox.keep_sent_days)
        keep_statistics(self.db.engine)

    def _digest(self) -> None:
        from mailbridge.review.digest import enqueue_digests

        queued = enqueue_digests(self.db, self.config)
        if queued:
            log.info("digests queued: %s", ", ".join(f"{g} {n}" for g, n in sorted(queued.items())))
            self._flush()

    def _tick(self) -> None:
        now = datetime.now(self.config.ingest.zone)
        queued = schedule.tick(self.db, self.config, now, self._scheduled)
        if not self._ticked:  # once per start: what was caught up, and what comes next
            self._ticked = True
            log.info("scheduled mail: %d caught up; next: %s", queued, ", ".join(
                f"{j.id} {at.isoformat(timespec='minutes')}" for j in self._scheduled if (at := j.next_after(now))) or "none")
        if queued:
            self._flush()

    def _health(self) -> None:
        if health.check(self.config, self.db):
            self._flush()

    # -- the loop -----------------------------------------------------------------------------
    def _start_idle(self) -> None:
        from mailbridge.sources.idle import IdleWatcher

        for box in self.config.mailboxes:
            if box.enabled and box.idle:
                watcher = IdleWatcher(box, partial(self.wake, box.name), self.stop)
                watcher.start()
                self._idle.append(watcher)

    def _reload(self) -> None:
        self.reload.clear()
        try:
            new = load_checked(self.config_path)
        except MailbridgeError as exc:
            log.error("SIGHUP: the new config is not valid, keeping the old one: %s", exc)
            return
        if new.database.url != self.config.database.url:
            log.error("SIGHUP: database.url changed; keeping the old config (restart to change databases)")
            return
        log.warning("SIGHUP: config reloaded from %s", new.source)
        self.scheduler.pause()
        for job in self.scheduler.get_jobs():
            job.remove()
        self.config = new
        from mailbridge.pipeline import Pipeline

        self.pipeline = Pipeline(new, self.db)
        self._schedule()
        self.scheduler.resume()

    def _request(self, flag: threading.Event) -> None:
        flag.set()
        self._attention.set()

    def _next_runs(self) -> dict[str, str | None]:
        runs = {job.id: job.next_run_time.isoformat(timespec="seconds") if job.next_run_time else None
                for job in self.scheduler.get_jobs()}
        now = datetime.now(self.config.ingest.zone)
        for job in self._scheduled:
            at = job.next_after(now)
            runs[job.id] = at.isoformat(timespec="seconds") if at else None
        return runs

    def run(self) -> None:
        """Run until SIGTERM/SIGINT (returns) or a bug in a job (raises it: exit 4)."""
        logs.daemon_events()
        self.lock.acquire()  # a second runner: ConfigError naming the holder (exit 2)
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
        signal.signal(signal.SIGTERM, lambda *_: self._request(self.stop))
        signal.signal(signal.SIGINT, lambda *_: self._request(self.stop))
        signal.signal(signal.SIGHUP, lambda *_: self._request(self.reload))
        try:
            self._schedule()
            self.scheduler.start()
            self._start_idle()
            boxes = sum(1 for b in self.config.mailboxes if b.enabled)
            log.warning("mailbridge running: %d mailbox(es), polling every %ss%s", boxes,
                        self.config.schedule.poll_interval_seconds, " (polling only)" if self.polling_only else "")
            systemd.notify("READY=1", f"STATUS=running: {boxes} mailbox(es)")
            self._loop()
        finally:
            systemd.notify("STOPPING=1")
            log.warning("mailbridge stopping")
            self.stop.set()
            if self.scheduler.running:
                self.scheduler.shutdown(wait=True)  # the jobs in progress finish their message
            for watcher in self._idle:
                watcher.join(timeout=10)
            self.lock.release()
            self.db.dispose()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if self.fatal is not None:
            raise self.fatal

    def _beat(self) -> None:
        """The lock's heartbeat, which also notices the database going away and coming back: the
        pool's pre-ping reconnects on the next checkout, so the jobs resume on their own; the
        outage is recorded for `status` once the database answers again."""
        try:
            self.lock.heartbeat(self._next_runs())
        except OperationalError as exc:  # the database is away: the jobs say so too
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "unreachable"
            if self._db_lost is None:
                self._db_lost = (utcnow(), reason)
                log.error("database unreachable: %s; retrying every %ss", reason, lock.HEARTBEAT_SECONDS)
            return
        if self._db_lost is not None:
            since, reason = self._db_lost
            self._db_lost = None
            log.warning("database back after %.0f s", (utcnow() - since).total_seconds())
            try:
                health.record_database_outage(self.db, since, utcnow(), reason)
            except OperationalError as exc:
                log.warning("database outage not recorded: %s", exc.orig)

    def _loop(self) -> None:
        watchdog = systemd.watchdog_seconds()
        tick = min(watchdog or lock.HEARTBEAT_SECONDS, lock.HEARTBEAT_SECONDS)
        beat_due = 0.0
        while not self.stop.is_set():
            if self.reload.is_set():
                self._reload()
            if time.monotonic() >= beat_due:
                self._beat()
                beat_due = time.monotonic() + lock.HEARTBEAT_SECONDS
            if watchdog:
                systemd.notify("WATCHDOG=1")
            self._attention.wait(tick)  # set by every signal and by a fatal job
            self._attention.clear()
