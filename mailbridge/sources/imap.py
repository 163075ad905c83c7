"""IMAP mailboxes (163/126/QQ): incremental by UID, nothing marked read by accident, one poller each."""
from __future__ import annotations

import ast
import contextlib
import logging
import queue
import socket
import ssl
import threading
from collections.abc import Generator
from dataclasses import dataclass, field
from datetime import datetime
from collections.abc import Callable

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError
from sqlalchemy import select

from mailbridge import __version__
from mailbridge.config import MailboxConfig
from mailbridge.errors import ConfigError, TransientError
from mailbridge.ledger import lease
from mailbridge.ledger.models import FolderState, Message
from mailbridge.sources.sink import Fingerprint, Origin, Sink

log = logging.getLogger(__name__)

CLIENT_ID = {"name": "mailbridge", "version": __version__, "vendor": "mailbridge",
             "support-email": "mailbridge@localhost"}
_LARGE = 8 * 1024 * 1024  # a message this big is fetched in pieces
_PIECE = 4 * 1024 * 1024
NETWORK_ERRORS = (OSError, socket.timeout, ssl.SSLError, IMAPClientError)


@dataclass
class PollStats:
    mailbox: str
    fetched: int = 0
    new: int = 0
    dispositions: dict[str, int] = field(default_factory=dict)
    skipped: str | None = None  # why the mailbox was not polled (another poller holds it)


def connect(box: MailboxConfig) -> IMAPClient:
    """Log in and identify: 163/126 refuse SELECT ("Unsafe Login") without RFC 2971 ID."""
    where = f"mailbox {box.name} ({box.host}:{box.effective_port})"
    password = box.password(f"mailbox {box.name}")
    try:
        client = IMAPClient(box.host, port=box.effective_port, ssl=box.security == "ssl",
                            timeout=box.timeout_seconds)
    except NETWORK_ERRORS as exc:
        raise TransientError(f"cannot connect to {where}: {exc}; check host, port and security.",
                             mailbox=box.name) from None
    # INTERNALDATE stays time-zone aware: quotas are counted by arrival time in Asia/Shanghai.
    client.normalise_times = False
    # imapclient turns imaplib's debug level to 5, so imaplib builds the repr() of every response,
    # mail bodies included, only for the logger to drop it: most of the fetch time. Only -vv keeps it.
    if not logging.getLogger("imapclient").isEnabledFor(logging.DEBUG):
        client._imap.debug = 0
    if not password.isascii():
        close(client)
        raise ConfigError(f"the password of mailbox {box.name} has non-ASCII characters; authorization "
                          "codes (授权码) are plain letters, check for a full-width character.",
                          mailbox=box.name)
    try:
        if box.security == "starttls":
            client.starttls(ssl.create_default_context())
        client.login(box.username, password)
        if client.has_capability("ID"):  # some servers answer an unexpected ID with BYE
            client.id_(CLIENT_ID)
    except LoginError as exc:
        close(client)
        raise TransientError(
            f"login refused for {where}: {_server_text(exc)}; check username and the authorization "
            "code (授权码), and that IMAP is enabled in the webmail settings.", mailbox=box.name) from None
    except NETWORK_ERRORS as exc:
        close(client)
        raise TransientError(f"{where}: {_server_text(exc)}", mailbox=box.name) from None
    return client


def close(client: IMAPClient) -> None:
    try:
        client.logout()
    except Exception:  # noqa: BLE001 - the connection may already be gone; nothing left to save
        try:
            client.shutdown()
        except Exception:  # noqa: BLE001 - nor in closing its socket
            pass


def _server_text(exc: BaseException) -> str:
    """The server's words: imapclient wraps imaplib's bytes as their repr, b'...'."""
    raw: object = exc.args[0] if exc.args else ""
    if isinstance(raw, str) and raw[:2] in ("b'", 'b"'):
        try:
            raw = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            pass
    if isinstance(raw, bytes):
        data = raw
        try:
            raw = data.decode("utf-8")
        except UnicodeDecodeError:
            raw = data.decode("gb18030", errors="replace")  # QQ/163 error text can be GBK bytes
    return str(raw).strip() or type(exc).__name__


def _fetch_large(client: IMAPClient, uid: int) -> dict:
    """One big message in partial fetches, shaped like fetch()'s answer.

    imaplib and imapclient hold about three copies of a literal while parsing a response; a
    50 MB attachment fetched whole would cost 230 MB. Pieces of 4 MB go into one buffer instead.
    """
    meta = client.fetch([uid], ["INTERNALDATE"]).get(uid, {})
    raw = bytearray()
    while True:
        answer = client.fetch([uid], [f"BODY.PEEK[]<{len(raw)}.{_PIECE}>"]).get(uid, {})
        piece = next((v for k, v in answer.items() if k.startswith(b"BODY[]")), None) or b""
        raw += piece
        if len(piece) < _PIECE:
            break
    if not raw:
        return {}
    return {uid: {b"BODY[]": raw, b"INTERNALDATE": meta.get(b"INTERNALDATE")}}


class _ByteBudget:
    """Bytes fetched but not yet processed; a batch larger than the whole budget waits for zero."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self.cond = threading.Condition()

    def take(self, nbytes: int, stop: threading.Event) -> bool:
        with self.cond:
            while self.used and self.used + nbytes > self.limit and not stop.is_set():
                self.cond.wait()
            self.used += nbytes
            return not stop.is_set()

    def give(self, nbytes: int) -> None:
        with self.cond:
            self.used -= nbytes
            self.cond.notify_all()


class ImapSource:
    """Polls one mailbox's folders into a sink (the pipeline)."""

    def __init__(self, box: MailboxConfig, pipeline: Sink,
                 progress: Callable[[int, int], None] | None = None,
                 stop: threading.Event | None = None) -> None:
        self.box = box
        self.stop = stop or threading.Event()  # set: finish the message in hand, then return
        self.pipeline = pipeline
        self.db = pipeline.db
        self.progress = progress or (lambda done, total: None)
        self.owner = lease.owner_id()

    def poll(self) -> PollStats:
        stats = PollStats(self.box.name)
        name = f"poll:{self.box.name}"
        if not lease.acquire(self.db, name, self.owner):
            stats.skipped = "another poller is working on this mailbox"
            log.info("mailbox %s: %s; skipped", self.box.name, stats.skipped)
            return stats
        try:
            self.pipeline.resume(self.box.name)  # rows a crash left archived but unparsed
            client = connect(self.box)
            try:
                for folder in self.box.folders:
                    if self.stop.is_set():
                        break
                    self._poll_folder(client, folder, stats)
            except NETWORK_ERRORS as exc:
                raise TransientError(f"mailbox {self.box.name}: connection lost ({_server_text(exc)}); "
                                     "the next poll continues where this one stopped.", mailbox=self.box.name) from None
            finally:
                close(client)
        finally:
            lease.release(self.db, name, self.owner)
        return stats

    def _poll_folder(self, client: IMAPClient, folder: str, stats: PollStats) -> None:
        try:
            info = client.select_folder(folder, readonly=self.box.action == "none")
        except IMAPClientError as exc:
            text = _server_text(exc)
            if "unsafe login" in text.lower():
                raise TransientError(f"mailbox {self.box.name}: the server refused SELECT as an "
                                     f"'Unsafe Login' ({text}).", mailbox=self.box.name) from None
            raise ConfigError(f"mailbox {self.box.name}: folder {folder!r} cannot be opened ({text}); "
                              "check mailboxes.folders.", mailbox=self.box.name, folder=folder) from None
        uidvalidity = int(info[b"UIDVALIDITY"])
        last_uid = self._folder_state(folder, uidvalidity)
        self._apply_actions(client, folder, uidvalidity)
        uids = sorted(u for u in client.search(["UID", f"{last_uid + 1}:*"]) if u > last_uid)
        if not uids:
            return
        log.info("mailbox %s/%s: %d new message(s) after UID %d", self.box.name, folder, len(uids), last_uid)
        total = len(uids)
        batches = self._batches(client, uids)
        batch_ends = {batch[-1] for batch, _ in batches}
        done = last_uid
        # closing(): on an error the fetch thread stops before the connection is logged out.
        with contextlib.closing(self._fetched(client, batches)) as fetched:
            messages = ((raw, Origin(self.box.name, folder, uidvalidity, uid, arrived), fp)
                        for batch in fetched for uid, raw, arrived, fp in batch)
            # closing(): on a stop the parse worker is shut down here, not when garbage is collected.
            with contextlib.closing(self.pipeline.ingest_many(messages)) as outcomes:  # parsed on a second core
                for outcome in outcomes:
                    stats.fetched += 1
                    stats.new += outcome.new
                    if outcome.new and outcome.disposition:
                        stats.dispositions[outcome.disposition] = stats.dispositions.get(outcome.disposition, 0) + 1
                    self.progress(stats.fetched, total)
                    assert outcome.origin is not None and outcome.origin.uid is not None  # as given above
                    done = outcome.origin.uid
                    if done in batch_ends:  # a whole batch is in the books
                        self._save_last_uid(folder, done)
                        lease.acquire(self.db, f"poll:{self.box.name}", self.owner)  # renew during long back-fills
                    if self.stop.is_set():
                        # Shutting down: what is recorded stays recorded; the messages the parse worker
                        # holds stay `archived` and are resumed by the next start (nothing lost).
                        log.info("mailbox %s/%s: stopping after UID %s", self.box.name, folder, done)
                        break
        if done not in batch_ends:
            self._save_last_uid(folder, done)
        if self.stop.is_set():
            return
        self._apply_actions(client, folder, uidvalidity)

    def _folder_state(self, folder: str, uidvalidity: int) -> int:
        with self.db.session() as s:
            state = s.scalar(select(FolderState).where(FolderState.mailbox == self.box.name,
                                                       FolderState.folder == folder))
            if state is None:
                s.add(FolderState(mailbox=self.box.name, folder=folder, uidvalidity=uidvalidity, last_uid=0))
                return 0
            if state.uidvalidity != uidvalidity:
                # The server renumbered the folder (recreated or restored). Every message is read
                # again, and each one already in the ledger is matched by Message-ID and sha256
                # and re-keyed instead of ingested twice (see mailbridge.pipeline.writes).
                log.warning("mailbox %s/%s: UIDVALIDITY changed %s -> %s; reconciling",
                            self.box.name, folder, state.uidvalidity, uidvalidity)
                state.uidvalidity, state.last_uid = uidvalidity, 0
            return state.last_uid

    def _save_last_uid(self, folder: str, uid: int) -> None:
        with self.db.session() as s:
            state = s.scalars(select(FolderState).where(FolderState.mailbox == self.box.name,
                                                        FolderState.folder == folder)).one()
            state.last_uid = max(state.last_uid, uid)

    def _fetched(self, client: IMAPClient, batches: list[tuple[list[int], int]]
                 ) -> Generator[list[tuple[int, bytes, datetime | None, Fingerprint]], None, None]:
        """Batches of (uid, raw, internaldate, fingerprint), fetched and archived ahead on a second thread.

        Fetching waits on the network while parsing works the CPU, so the two overlap. What is
        fetched but not yet processed stays within two batches' worth of bytes, so a run of
        50 MB messages is fetched one at a time and memory stays flat.
        """
        fingerprint = self.pipeline.fingerprint
        budget = _ByteBudget(2 * self.box.batch_megabytes * 1024 * 1024)
        out: queue.Queue = queue.Queue()
        stop = threading.Event()

        def produce() -> None:
            try:
                for batch, nbytes in batches:
                    if not budget.take(nbytes, stop):
                        return
                    if len(batch) == 1 and nbytes > _LARGE:
                        data = _fetch_large(client, batch[0])
                    else:
                        data = client.fetch(batch, ["BODY.PEEK[]", "INTERNALDATE"])
                    # Archived and hashed here, on the fetch thread: the fsync waits and the hashing
                    # (hashlib lets go of the GIL) overlap with the ledger work.
                    items = [(u, data[u][b"BODY[]"], data[u].get(b"INTERNALDATE"), fingerprint(data[u][b"BODY[]"]))
                             for u in batch if u in data and data[u].get(b"BODY[]") is not None]
                    del data
                    out.put((items, nbytes))
                out.put(None)
            except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
                out.put(exc)

        worker = threading.Thread(target=produce, name=f"fetch-{self.box.name}", daemon=True)
        worker.start()
        try:
            while (item := out.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                items, nbytes = item
                yield items
                del items, item
                budget.give(nbytes)
        finally:
            stop.set()
            budget.give(0)  # wake the producer so it sees `stop`
            worker.join()

    def _batches(self, client: IMAPClient, uids: list[int]) -> list[tuple[list[int], int]]:
        """Group UIDs by count and by size; each batch with its size in bytes."""
        sizes: dict[int, int] = {}
        for i in range(0, len(uids), 1000):
            chunk = uids[i : i + 1000]
            for uid, data in client.fetch(chunk, ["RFC822.SIZE"]).items():
                sizes[uid] = int(data.get(b"RFC822.SIZE", 0))
        limit = self.box.batch_megabytes * 1024 * 1024
        batches: list[tuple[list[int], int]] = []
        current: list[int] = []
        used = 0
        for uid in uids:
            if uid not in sizes:
                continue  # expunged since SEARCH
            size = sizes[uid]
            if current and (len(current) >= self.box.batch_messages or used + size > limit):
                batches.append((current, used))
                current, used = [], 0
            current.append(uid)
            used += size
        if current:
            batches.append((current, used))
        return batches

    def _apply_actions(self, client: IMAPClient, folder: str, uidvalidity: int) -> None:
        """The server-side action owed to recorded messages: flag, mark seen, or move."""
        with self.db.session() as s:
            rows = s.execute(select(Message.id, Message.uid).where(
                Message.mailbox == self.box.name, Message.folder == folder,
                Message.uidvalidity == uidvalidity, Message.action_pending.is_(True))).all()
        if not rows:
            return
        uids = [uid for _, uid in rows if uid is not None]  # every IMAP row has its UID
        action = self.box.action
        for i in range(0, len(uids), 500):
            chunk = uids[i : i + 500]
            if action == "flag":
                client.add_flags(chunk, [self.box.flag.encode()], silent=True)
            elif action == "seen":
                client.add_flags(chunk, [b"\\Seen"], silent=True)
            elif action == "move":
                self._move(client, chunk)
        with self.db.session() as s:
            for row_id, _ in rows:
                s.get_one(Message, row_id).action_pending = False

    def _move(self, client: IMAPClient, uids: list[int]) -> None:
        target = self.box.move_to
        if not client.folder_exists(target):
            client.create_folder(target)
        if client.has_capability("MOVE"):
            client.move(uids, target)
            return
        # 163 has no MOVE: COPY, then delete only these UIDs (UIDPLUS), never a blind EXPUNGE.
        client.copy(uids, target)
        client.add_flags(uids, [b"\\Deleted"], silent=True)
        if client.has_capability("UIDPLUS"):
            client.uid_expunge(uids)
        else:
            log.warning("mailbox %s: server lacks UIDPLUS; moved messages stay marked \\Deleted", self.box.name)
