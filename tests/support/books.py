"""A month of books written straight into the ledger: units, articles (with arrival times and
versions) and adoptions recorded through review.decisions, for the scoring golden tests."""
from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from mailbridge.config import Config
from mailbridge.ledger.db import Database, ensure_schema
from mailbridge.ledger.models import Message, Submission, Unit
from mailbridge.review import decisions
from support.database import database_url

CST = dt.timezone(dt.timedelta(hours=8), "CST")


class Books:
    def __init__(self, root: Path, config: Config, db_file: str = "books.db") -> None:
        """`db_file`: another name, to share the ledger of a CLI installation (tests/mbcli.py: mb.db)."""
        self.config = config
        # The config's own database when a test set one (the commands it runs read that), else a new one.
        url = config.database.url if "database" in config.model_fields_set else database_url(root, "books")
        self.db = Database(url)
        ensure_schema(self.db.engine)
        self.s = self.db.sessions()
        self.units: dict[str, Unit] = {}
        self.numbers: dict[str, int] = {}

    def unit(self, name: str, kind: str | None = None, quota: int | None = None) -> Unit:
        unit = Unit(name=name, type=kind, quota=quota, active=True)
        self.s.add(unit)
        self.s.flush()
        self.units[name] = unit
        return unit

    def article(self, unit: str, arrived: dt.datetime, title: str, chars: int = 400,
                category: str = "news", revises: Submission | None = None) -> Submission:
        """One submission arriving at `arrived` (local time, CST); `revises`: a new version of that one."""
        month = arrived.astimezone(self.config.ingest.zone).strftime("%Y-%m")
        self.numbers[month] = self.numbers.get(month, 0) + 1
        digest = hashlib.sha256(f"{unit}{title}{arrived}".encode()).hexdigest()
        message = Message(mailbox="import", folder="test", size=1, sha256=digest, received_at=arrived,
                          sender=f"{abs(hash(unit)) % 10**6}@163.com", subject=title, state="processed",
                          disposition="submission")
        sub = Submission(message=message, receipt_no=f"SMX-{month}-{self.numbers[month]:04d}", title=title,
                         text="正" * chars, body_chars=chars, category=category, unit=self.units[unit], month=month)
        if revises is not None:
            revises.status = "superseded"
            sub.version_of = revises.version_of or revises.id
            sub.flags = ["resubmission"]
        self.s.add(sub)
        self.s.flush()
        return sub

    def adopt(self, sub: Submission, *channels: str, on: dt.date | None = None) -> None:
        decisions.adopt(self.s, self.config, sub, list(channels), on or sub.message.received_at.date(),
                        "clerk@test", "cli")

    def close(self) -> None:
        self.s.commit()
        self.s.close()
        self.db.dispose()


def at(month: str, day: int, hour: int = 10, minute: int = 0) -> dt.datetime:
    """A local (CST) arrival time in YYYY-MM."""
    year, mon = (int(x) for x in month.split("-"))
    return dt.datetime(year, mon, day, hour, minute, tzinfo=CST)
