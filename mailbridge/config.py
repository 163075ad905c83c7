"""Load config.toml once into frozen, typed models; every mistake is one sentence naming the key."""
from __future__ import annotations

import logging
import os
import re
import stat
import tomllib
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator,
                      model_validator)

from mailbridge.errors import ConfigError

log = logging.getLogger(__name__)

DEFAULT_PATH = "config.toml"
ENV_VAR = "MAILBRIDGE_CONFIG"


class _Model(BaseModel):
    # Defaults are validated too, and default sub-tables again in each load, so that a path field's
    # default (e.g. storage.dir = "var/store") is resolved like a written one (see ConfigPath).
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, revalidate_instances="always")


def _base(info: ValidationInfo) -> Path | None:
    """The config file's folder, given by `from_dict` as the validation context."""
    return (info.context or {}).get("base")


def _from_config_folder(value: Path, info: ValidationInfo) -> Path:
    base = _base(info)
    value = value.expanduser()
    return value if base is None or value.is_absolute() else base / value


# A path in the config: relative paths are taken from the config file's folder, wherever the
# service is started. Every path field uses this type, so a new one cannot be forgotten.
ConfigPath = Annotated[Path, AfterValidator(_from_config_folder)]


class Secret(_Model):
    """Where a password comes from; the value itself is read only when a connection opens."""

    password_env: str | None = None
    password_file: ConfigPath | None = None
    # systemd LoadCredential=NAME:FILE; read from $CREDENTIALS_DIRECTORY/NAME (systemd.exec(5)).
    password_credential: Annotated[str | None, Field(pattern=r"^[A-Za-z0-9_.-]+$")] = None

    def _credential_path(self) -> Path | None:
        folder = os.environ.get("CREDENTIALS_DIRECTORY")
        return Path(folder) / self.password_credential if folder and self.password_credential else None

    def password(self, what: str) -> str:
        if self.password_credential is not None:
            path = self._credential_path()
            if path is None:
                raise ConfigError(
                    f"{what}: password_credential {self.password_credential!r} needs systemd's "
                    "LoadCredential= ($CREDENTIALS_DIRECTORY is not set); run it from the unit or use "
                    "password_env."
                )
            try:
                return path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(
                    f"{what}: cannot read credential {self.password_credential!r} ({exc.strerror}); "
                    "check LoadCredential= in the unit."
                ) from None
        if self.password_file is not None:
            loose = self.loose_permissions()
            if loose:  # read all the same: refusing would stop the service over a chmod
                log.warning("%s: %s", what, loose)
            try:
                return self.password_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(
                    f"{what}: cannot read password_file {self.password_file} ({exc.strerror}); "
                    "fix the path or its permissions."
                ) from None
        if self.password_env:
            value = os.environ.get(self.password_env)
            if value is None:
                raise ConfigError(
                    f"{what}: environment variable {self.password_env} is not set; "
                    "export it with the authorization code (授权码)."
                )
            return value
        raise ConfigError(f"{what}: set password_env or password_file.")

    def loose_permissions(self) -> str | None:
        """Say so when others than the owner may read the password_file (never its content)."""
        if self.password_file is None:
            return None
        try:
            mode = stat.S_IMODE(self.password_file.stat().st_mode)
        except OSError:
            return None  # password() / missing() say what is wrong with the path
        if not mode & 0o077:
            return None
        return (f"password_file {self.password_file} is readable by others than its owner (mode {mode:04o}); "
                f"run: chmod 600 {self.password_file}")

    def missing(self) -> str | None:
        """Say what is missing without reading the secret into a message."""
        if self.password_credential is not None:
            path = self._credential_path()
            if path is None:
                return f"password_credential {self.password_credential!r} needs $CREDENTIALS_DIRECTORY (LoadCredential=)"
            return None if path.is_file() else f"credential {self.password_credential!r} is not in {path.parent}"
        if self.password_file is not None:
            return None if self.password_file.is_file() else f"password_file {self.password_file} does not exist"
        if self.password_env:
            return None if self.password_env in os.environ else f"environment variable {self.password_env} is not set"
        return "no password_env or password_file"


class DatabaseConfig(_Model):
    url: str = "sqlite:///var/mailbridge.db"

    @field_validator("url")
    @classmethod
    def _sqlite_file_from_config_folder(cls, url: str, info: ValidationInfo) -> str:
        """A relative SQLite file (sqlite:///var/x.db; sqlite://// is absolute) is in the config
        file's folder, like every other path."""
        base = _base(info)
        if base is None or not url.startswith("sqlite:///") or url.startswith("sqlite:////") \
                or url == "sqlite:///:memory:":
            return url
        return "sqlite:///" + str(base / url.removeprefix("sqlite:///"))

    @property
    def safe_url(self) -> str:
        """The URL as it may be shown in output and logs: the password replaced by ***."""
        return masked(self.url)


def masked(url: object) -> str:
    """A database URL fit for a message or a log: the password, if any, as ***.

    Plain string work (no SQLAlchemy: `check-config` stays quick), and it must also hold for the
    mistyped URL an error is about: all between '//' and the last '@' is credentials, whatever
    characters the password holds; only a plain `user:` before it is kept.
    """
    text = str(url)
    scheme, sep, rest = text.partition("//")
    if not sep:  # not even '//': all before the last '@' may be credentials
        rest, scheme = text, ""
    if not rest.startswith("/"):  # a network location (sqlite:////path has none)
        userinfo, at, host = rest.rpartition("@")
        if at:
            user, colon, _ = userinfo.partition(":")
            keep = f"{user}:" if colon and "@" not in userinfo and sep else ""
            text = f"{scheme}{sep}{keep}***@{host}"
    return re.sub(r"(?i)(password=)[^&]*", r"\1***", text)  # libpq also takes it as a query parameter


class StorageConfig(_Model):
    dir: ConfigPath = Path("var/store")


class MailboxConfig(Secret):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]
    host: str
    port: int | None = None
    security: Literal["ssl", "starttls", "plain"] = "ssl"
    username: str
    folders: list[str] = ["INBOX"]
    action: Literal["none", "flag", "seen", "move"] = "none"
    move_to: str = "已处理"
    flag: str = "\\Flagged"
    enabled: bool = True
    receipts: bool = True
    timeout_seconds: float = 60.0
    batch_messages: Annotated[int, Field(ge=1, le=1000)] = 50
    batch_megabytes: Annotated[int, Field(ge=1, le=1000)] = 20
    idle: bool = False  # wait with IMAP IDLE (RFC 2177) where the server has it; 163 has none

    @property
    def effective_port(self) -> int:
        return self.port or {"ssl": 993, "starttls": 143, "plain": 143}[self.security]

    @field_validator("name")
    @classmethod
    def _not_import(cls, value: str) -> str:
        if value == "import":
            raise ValueError("'import' is reserved for local imports; choose another name")
        return value


class SmtpConfig(Secret):
    transport: Literal["smtp", "file"] = "smtp"
    host: str = "smtp.163.com"
    port: int | None = None
    security: Literal["ssl", "starttls", "plain"] = "ssl"
    username: str | None = None
    from_: Annotated[str, Field(alias="from")] = "mailbridge <mailbridge@localhost>"
    dir: ConfigPath = Path("var/outbox")
    timeout_seconds: float = 60.0
    max_per_minute: Annotated[int, Field(ge=1)] = 20

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @property
    def effective_port(self) -> int:
        return self.port or {"ssl": 465, "starttls": 587, "plain": 25}[self.security]


# Five crontab fields (minute hour day month weekday, as in crontab(5)); "" switches the job off.
Crontab = Annotated[str, Field(pattern=r"^$|^\S+ \S+ \S+ \S+ \S+$")]


class ScheduleConfig(_Model):
    poll_interval_seconds: Annotated[int, Field(ge=10)] = 300
    outbox_interval_seconds: Annotated[int, Field(ge=5)] = 60
    digest_times: list[Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]] = ["08:30", "14:30"]
    weekly_progress: Crontab = "0 9 * * mon"  # each unit its month so far (还差 N 篇)
    monthly_scorecard: Crontab = "0 9 1 * *"  # the month before's scorecard and 通报 to [scorecards]
    quota_reminders: Crontab = "0 9 20,25 * *"  # 催报 to units below this month's quota
    catch_up_hours: Annotated[int, Field(ge=0)] = 24  # a missed occurrence younger than this runs at start


def _addresses(value: list[str]) -> list[str]:
    bad = [a for a in value if "@" not in a]
    if bad:
        raise ValueError(f"{bad[0]!r} is not an e-mail address")
    return [a.strip() for a in value]


Addresses = Annotated[list[str], AfterValidator(_addresses)]  # who gets an automatic mail (admins, leaders)


class ScorecardsConfig(_Model):
    """Who gets the monthly scorecard and 通报 (leaders, admins)."""

    recipients: Addresses = []
    unit_lines: bool = False  # also send each unit its own line of the month's scorecard


class AdminConfig(_Model):
    """Who hears about the service's health, and when."""

    addresses: Addresses = []
    alert_after_minutes: Annotated[int, Field(ge=0)] = 60  # 0: at the first failed poll
    silent_days: Annotated[int, Field(ge=0)] = 7  # 0: never alert about a quiet mailbox


class OutboxConfig(_Model):
    max_attempts: Annotated[int, Field(ge=1)] = 8
    retry_seconds: Annotated[int, Field(ge=1)] = 60
    max_retry_seconds: Annotated[int, Field(ge=1)] = 6 * 3600
    # Receipts and review answers together; 0: no cap. Over a cap, no answer is queued (logged).
    max_automatic_per_hour: Annotated[int, Field(ge=0)] = 60
    max_automatic_per_day: Annotated[int, Field(ge=0)] = 300
    # Sent mail's bytes are dropped this long after sending (its record stays); 0: kept for ever.
    keep_sent_days: Annotated[int, Field(ge=0)] = 90


class ReceiptsConfig(_Model):
    enabled: bool = True
    unknown_senders: bool = True
    max_per_sender_per_day: Annotated[int, Field(ge=0)] = 10
    max_age_days: Annotated[int, Field(ge=0)] = 3
    unknown_sender_days: Annotated[int, Field(ge=0)] = 30  # an address not in the roster: one receipt per this many days
    contact: str = ""


class TemplatesConfig(_Model):
    dir: ConfigPath | None = None


class IngestConfig(_Model):
    receipt_prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9]{1,12}$")] = "SMX"
    timezone: str = "Asia/Shanghai"
    ignore_senders: list[str] = []
    max_message_mb: Annotated[int, Field(ge=1)] = 80
    max_attachment_mb: Annotated[int, Field(ge=1)] = 60
    max_expanded_mb: Annotated[int, Field(ge=1)] = 200
    # Flooding: the documents of one mail past this many stay attachments only (flag too_many_documents).
    max_documents_per_mail: Annotated[int, Field(ge=1)] = 20
    # Flooding: one sender's submissions past this many in the 24 hours before a mail arrived are held.
    max_submissions_per_sender_per_day: Annotated[int, Field(ge=1)] = 30
    # Whose Authentication-Results headers (RFC 8601) are believed, by authserv-id; empty: the
    # topmost header's server only (a border MTA removes forged headers of its own id, §5).
    trusted_authserv_ids: list[str] = []
    # Every parse is bounded (issue 10): past the deadline the message is quarantined ("parse took
    # too long"); the parse worker may not grow past parse_memory_mb; longer text is cut.
    parse_timeout_seconds: Annotated[int, Field(ge=1)] = 120
    parse_memory_mb: Annotated[int, Field(ge=256)] = 2048
    max_text_chars: Annotated[int, Field(ge=1000)] = 1_000_000

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Asia/Shanghai") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class UnitType(_Model):
    """A kind of unit. Its monthly quota is the scoring profile's ([types.<id>] quota, as the
    notice sets it); `quota` here overrides it for this installation."""

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    name: str
    quota: Annotated[int, Field(ge=0)] | None = None
    aliases: list[str] = []
    salutation: str = ""  # how the bulletin (通报) addresses these units; empty: 各 and the name


class CategoryRule(_Model):
    """Keywords that put an article in a category; the first rule that matches wins."""

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    name: str
    keywords: list[str]
    fields: list[Literal["subject", "title", "text"]] = ["subject", "title"]


# Seed 000 (三门峡市科协): the five kinds of unit and how its notices address them (各县（市、区）
# 科协，市属各学（协）会、企业科协、高校科协，机关各部门及事业单位); their quotas are the profile's
# (sanmenxia.toml).
_SOCIETIES = "市属各学（协）会、企业科协、高校科协"
SANMENXIA_TYPES = [
    UnitType(id="county", name="县（市、区）科协", aliases=["县科协", "县区科协"], salutation="各县（市、区）科协"),
    UnitType(id="society", name="市级学会、协会、研究会", aliases=["学会", "协会", "研究会", "市级学会"],
             salutation=_SOCIETIES),
    UnitType(id="enterprise", name="企业科协", salutation=_SOCIETIES),
    UnitType(id="university", name="高校科协", salutation=_SOCIETIES),
    UnitType(id="department", name="市科协机关部门及事业单位", aliases=["机关部门", "事业单位"],
             salutation="机关各部门及事业单位"),
]
DEFAULT_CATEGORIES = [
    CategoryRule(id="notice", name="通知公告", keywords=["的通知", "的公告", "的通告", "启事", "的公示", "的通报", "通知公告"]),
    CategoryRule(id="research", name="工作研究/调研",
                 keywords=["调研", "工作研究", "研究报告", "调查报告", "思考与建议", "对策建议"]),
]


class AttributionConfig(_Model):
    resubmission_days: Annotated[int, Field(ge=0)] = 30
    similarity: Annotated[float, Field(gt=0, le=1)] = 0.8
    default_category: str = "news"
    default_category_name: str = "动态信息"


class ReviewGroup(_Model):
    """A reviewing department (归口初审, seed 004) and who may decide for it."""

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    name: str
    addresses: list[str] = []  # reviewers: their replies to the digest are accepted
    leaders: list[str] = []  # who approves after first review when review.two_stage is on

    @field_validator("addresses", "leaders")
    @classmethod
    def _lower(cls, value: list[str]) -> list[str]:
        bad = [a for a in value if "@" not in a]
        if bad:
            raise ValueError(f"{bad[0]!r} is not an e-mail address")
        return [a.strip().lower() for a in value]


class RoutingRule(_Model):
    """Send matching submissions to a group. Conditions of different kinds must all hold; within a
    kind any value matches; a rule with no condition matches everything. The first match wins."""

    group: str
    categories: list[str] = []
    keywords: list[str] = []
    keyword_fields: list[Literal["subject", "title", "text"]] = ["subject", "title"]
    unit_types: list[str] = []
    mailboxes: list[str] = []


class ReviewConfig(_Model):
    token_days: Annotated[int, Field(ge=1)] = 14  # how long a digest's tokens are accepted in replies
    # A reply decides only with an aligned DKIM pass in the receiving server's Authentication-Results:
    # "when_present" asks for it when the server records results, "always" also when it does not.
    require_dkim: Literal["when_present", "always", "never"] = "when_present"
    max_token_failures_per_hour: Annotated[int, Field(ge=1)] = 5  # then that sender's replies are refused unread
    digest_max_items: Annotated[int, Field(ge=1)] = 100  # more waiting submissions go in the next digest
    digest_max_age_days: Annotated[int, Field(ge=1)] = 30  # older unreviewed ones are not mailed (see `review`)
    # The listed documents ride along with each digest mail up to this many MB in all (0: none), so a
    # reviewer can decide from a phone; the rest are named as over the budget.
    digest_attach_mb: Annotated[float, Field(ge=0, le=50)] = 10
    two_stage: bool = False  # first review (初审) by the group, then a leader's approval, before adoption
    default_group: str | None = None  # where a submission no rule matches goes
    groups: list[ReviewGroup] = []
    routes: list[RoutingRule] = []

    @model_validator(mode="after")
    def _known_groups(self) -> ReviewConfig:
        ids = [g.id for g in self.groups]
        if len(set(ids)) != len(ids):
            raise ValueError("two review groups share an id; ids must be unique")
        known = ", ".join(ids) or "none defined"
        for n, route in enumerate(self.routes):
            if route.group not in ids:
                raise ValueError(f"routes[{n}] names group {route.group!r}, which is not defined (known: {known})")
        if self.default_group is not None and self.default_group not in ids:
            raise ValueError(f"default_group {self.default_group!r} is not a defined group (known: {known})")
        if self.two_stage and any(not g.leaders for g in self.groups):
            missing = next(g.id for g in self.groups if not g.leaders)
            raise ValueError(f"two_stage is on but group {missing!r} has no leaders to approve; add leaders")
        return self

    def group(self, group_id: str | None) -> ReviewGroup | None:
        return next((g for g in self.groups if g.id == group_id), None)


class ScoringConfig(_Model):
    # A shipped profile (sanmenxia, jinshui, chongqing) or the path of a profile TOML file.
    profile: str = "sanmenxia"
    issuer: str = ""  # who issues the bulletin (通报), e.g. 三门峡市科学技术协会; empty: not printed
    doc_number: str = ""  # the bulletin's 发文字号, e.g. 三科协字〔2024〕30号; empty: a blank line to fill in

    @field_validator("profile")
    @classmethod
    def _file_from_config_folder(cls, profile: str, info: ValidationInfo) -> str:
        """A shipped profile stays a name; a file path is taken from the config file's folder."""
        if not profile.endswith(".toml") and "/" not in profile and "\\" not in profile:
            return profile
        return str(_from_config_folder(Path(profile), info))


class CollectionConfig(_Model):
    """A form every unit in scope must send by a date (登记表, 年度总结, 统计表…), recognised at ingest."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9_-]{1,60}$")]
    name: str
    due: date  # in [ingest] timezone: on this date is on time, after it late
    opens: date | None = None  # replies before this date are not recognised; None: no lower bound
    closes: date | None = None  # nor after this one; None: 30 days after `due`
    subject_keywords: list[str] = []
    filename_patterns: list[str] = []  # shell patterns (fnmatch), case-insensitive: "*登记表*"
    mailboxes: list[str] = []  # only replies that arrived in these mailboxes ("import" for imports)
    folders: list[str] = []  # only replies that arrived in these folders
    units: list[str] = []  # unit names of the roster; empty: the units of `unit_types`
    unit_types: list[str] = []  # empty (and no `units`): every active unit
    remind_days_before: list[Annotated[int, Field(ge=0, le=366)]] = [3, 1]
    counts_as_submission: bool = False  # true: a reply is also a news submission (scored)
    roster_form: bool = False  # the 信息员登记表: replies are read as proposed roster changes

    @model_validator(mode="after")
    def _recognisable(self) -> CollectionConfig:
        if not (self.subject_keywords or self.filename_patterns or self.mailboxes or self.folders
                or self.roster_form):
            raise ValueError("a collection needs subject_keywords, filename_patterns, mailboxes or folders "
                             "to recognise its replies")
        if self.opens is not None and self.opens > self.due:
            raise ValueError(f"opens {self.opens} is after due {self.due}; a collection opens before it is due")
        if self.closes is not None and self.closes < self.due:
            raise ValueError(f"closes {self.closes} is before due {self.due}; late replies need closes after due")
        if any(not k.strip() for k in self.subject_keywords + self.filename_patterns):
            raise ValueError("an empty subject keyword or filename pattern would match every mail; remove it")
        return self

    @property
    def last_day(self) -> date:
        """The last local date a reply is still recognised (late)."""
        return self.closes or self.due + timedelta(days=30)


class Config(_Model):
    database: DatabaseConfig = DatabaseConfig()
    storage: StorageConfig = StorageConfig()
    mailboxes: list[MailboxConfig] = []
    smtp: SmtpConfig = SmtpConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    outbox: OutboxConfig = OutboxConfig()
    admin: AdminConfig = AdminConfig()
    scorecards: ScorecardsConfig = ScorecardsConfig()
    receipts: ReceiptsConfig = ReceiptsConfig()
    templates: TemplatesConfig = TemplatesConfig()
    ingest: IngestConfig = IngestConfig()
    attribution: AttributionConfig = AttributionConfig()
    unit_types: list[UnitType] = SANMENXIA_TYPES
    categories: list[CategoryRule] = DEFAULT_CATEGORIES
    review: ReviewConfig = ReviewConfig()
    scoring: ScoringConfig = ScoringConfig()
    collections: list[CollectionConfig] = []
    source: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _unique_names(self) -> Config:
        seen: set[str] = set()
        for box in self.mailboxes:
            if box.name in seen:
                raise ValueError(f"two mailboxes are named {box.name!r}; names must be unique")
            seen.add(box.name)
        if self.review.require_dkim == "always" and not self.ingest.trusted_authserv_ids:
            raise ValueError("review.require_dkim is 'always' but ingest.trusted_authserv_ids is empty, so any "
                             "sender could write the Authentication-Results it needs; name the receiving server's "
                             "authserv-id there")
        names = {b.name for b in self.mailboxes}
        for n, route in enumerate(self.review.routes):
            for box_name in route.mailboxes:
                if box_name not in names:
                    raise ValueError(f"review.routes[{n}].mailboxes names {box_name!r}, which is not a configured "
                                     "mailbox")
            for category in route.categories:
                if category not in self.category_names():
                    raise ValueError(f"review.routes[{n}].categories names {category!r}, which is not a category "
                                     f"(known: {', '.join(self.category_names())})")
            for kind in route.unit_types:
                if kind not in {t.id for t in self.unit_types}:
                    raise ValueError(f"review.routes[{n}].unit_types names {kind!r}, which is not a unit type id "
                                     f"(known: {', '.join(t.id for t in self.unit_types)})")
        self._check_collections(names)
        return self

    def _check_collections(self, mailboxes: set[str]) -> None:
        ids = [c.id for c in self.collections]
        if len(set(ids)) != len(ids):
            raise ValueError("two collections share an id; ids must be unique")
        kinds = {t.id for t in self.unit_types}
        for n, collection in enumerate(self.collections):
            for box in collection.mailboxes:
                if box not in mailboxes | {"import"}:
                    raise ValueError(f"collections[{n}].mailboxes names {box!r}, which is not a configured mailbox")
            for kind in collection.unit_types:
                if kind not in kinds:
                    raise ValueError(f"collections[{n}].unit_types names {kind!r}, which is not a unit type id "
                                     f"(known: {', '.join(sorted(kinds))})")

    def collection(self, collection_id: str) -> CollectionConfig:
        for collection in self.collections:
            if collection.id == collection_id:
                return collection
        known = ", ".join(c.id for c in self.collections) or "none configured"
        raise ConfigError(f"no collection {collection_id!r} in the config (known: {known}); see [[collections]].")

    def unit_type(self, value: str) -> UnitType | None:
        """A unit type by id, Chinese name or alias (roster files use either)."""
        key = value.strip().lower()
        for kind in self.unit_types:
            if key in (kind.id, kind.name.lower(), *(a.lower() for a in kind.aliases)):
                return kind
        return None

    def category_names(self) -> dict[str, str]:
        """Category id -> Chinese name, the default category included."""
        return {c.id: c.name for c in self.categories} | {
            self.attribution.default_category: self.attribution.default_category_name}

    def category_name(self, category: str | None) -> str | None:
        return None if category is None else self.category_names().get(category, category)

    def mailbox(self, name: str) -> MailboxConfig:
        for box in self.mailboxes:
            if box.name == name:
                return box
        known = ", ".join(b.name for b in self.mailboxes) or "none configured"
        raise ConfigError(f"no mailbox named {name!r} in the config (known: {known}).")

    @property
    def own_addresses(self) -> set[str]:
        """Addresses that belong to this system: mail from them is never a submission."""
        from email.utils import parseaddr

        own = {b.username.lower() for b in self.mailboxes if "@" in b.username}
        own.add(parseaddr(self.smtp.from_)[1].lower())
        return {a for a in own if a}


def default_path() -> Path:
    return Path(os.environ.get(ENV_VAR) or DEFAULT_PATH)


def load(path: Path | str | None = None) -> Config:
    """Read and validate a config file; relative paths are taken from the file's folder."""
    path = Path(path) if path else default_path()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"config file {path} not found; copy config.example.toml to {path} or pass -c FILE."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}.") from None
    return from_dict(raw, base=path.resolve().parent, source=path)


def from_dict(raw: dict, base: Path, source: Path | None = None) -> Config:
    try:
        config = Config.model_validate(raw, context={"base": base})
    except ValidationError as exc:
        raise ConfigError(_one_sentence(exc, source)) from None
    return config.model_copy(update={"source": source})


def _one_sentence(exc: ValidationError, source: Path | None) -> str:
    err = exc.errors()[0]
    key = key_name(err["loc"])
    where = f"{source}: " if source else ""
    kind = err["type"]
    if kind == "extra_forbidden":
        return f"{where}unknown key '{key}'; remove it or check its spelling against config.example.toml."
    if kind == "missing":
        return f"{where}missing key '{key}'; add it (see config.example.toml)."
    # The value is never repeated, only what the key expects: an authorization code pasted into
    # the wrong key (port, timezone, an address) must not reach a terminal or a log. Our own
    # validators may quote the value they were given; that quote is taken out too. (Checks across
    # keys still quote the names and ids they compare: those are identifiers, not values.)
    msg = err["msg"].removeprefix("Value error, ")
    given = err.get("input")
    if isinstance(given, str) and given:
        msg = msg.replace(repr(given), "the value given").replace(given, "the value given")
    return f"{where}key '{key}' is invalid: {msg}."


def key_name(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"
