"""Score entries a clerk records (seed 003): score items (加分项/扣分项, an indicator's points),
ratings of rated parts (服务对象评价) and vetoes (一票否决).

Each entry is checked against the profile first and written after, with a `Decision` row (the
same audit trail as review decisions: who, when, how, why). Revoking keeps the entry and adds a
decision. The caller owns the transaction. Entries count in the periods that hold their date.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailbridge.attribute.match import unit_key
from mailbridge.config import Config
from mailbridge.errors import ConfigError, MailbridgeError
from mailbridge.ledger.archive import Archive
from mailbridge.ledger.models import Decision, ScoreEntry, Submission, Unit, utcnow
from mailbridge.parse.tables import ACCEPTED, Columns, TableFormatError, cell_date, grids
from mailbridge.score.profile import Item, Part, Profile, Veto

VIA = ("cli", "sheet")
ACTIONS = {"item": "score_item", "rating": "rating", "veto": "veto"}
EFFECTS = {"bar": "bar", "取消资格": "bar", "取消评优资格": "bar", "exclude": "exclude", "不予考核": "exclude"}


class EntryError(MailbridgeError):
    """An entry that cannot be recorded; nothing was written."""

    exit_code = 2


@dataclass
class Evidence:
    """A file (archived by its sha256) or a submission's receipt number backing an entry."""

    path: Path | None = None
    receipt_no: str | None = None


def find_unit(s: Session, name: str) -> Unit:
    unit = s.scalar(select(Unit).where(Unit.name == name.strip()))
    if unit is None:
        matches = [u for u in s.scalars(select(Unit)) if unit_key(u.name) == unit_key(name)]
        unit = matches[0] if len(matches) == 1 else None
    if unit is None:
        raise EntryError(f"no unit named {name!r}; see 'mailbridge roster list'.")
    return unit


def _target(profile: Profile, unit: Unit, what: str) -> Item | Part | Veto:
    found = profile.entry_target(unicodedata.normalize("NFKC", what), unit.type)
    if found is None:
        known = ", ".join([i.id for i in profile.items] + [p.id for p in profile.parts if p.rated]
                          + [v.id for v in profile.vetoes]) or "none in this profile"
        raise EntryError(f"{what!r} is not a score item, rated part or veto of the profile {profile.profile.name} "
                         f"(known: {known}).")
    if isinstance(found, Item | Part):
        parts, _, items = profile.rule_set(unit.type)
        if found not in (items if isinstance(found, Item) else parts):
            raise EntryError(f"{found.name} ({found.id}) does not apply to {unit.name}, a unit of type "
                             f"{unit.type or 'none'}; see [types] in the profile.")
    return found


def record(s: Session, config: Config, profile: Profile, unit_name: str, what: str, points: float | None,
           on: date | None, actor: str, via: str, note: str | None = None, evidence: Evidence | None = None,
           effect: str | None = None) -> ScoreEntry:
    """Record one entry; points of an item default to the profile's (加1分/次), given as a magnitude."""
    if via not in VIA:
        raise ValueError(f"via must be one of {VIA}")
    unit = find_unit(s, unit_name)
    target = _target(profile, unit, what)
    today = datetime.now(config.ingest.zone).date()
    on = on or today
    if on > today:
        raise EntryError(f"date {on.isoformat()} is in the future; give the date it happened.")
    kind, key = "item", target.id
    if isinstance(target, Item):
        if points is None:
            points = target.points
        if points is None:
            raise EntryError(f"{target.name} has no set points in the profile; give the points.")
        points = -abs(points) if target.kind == "penalty" else abs(points)
    elif isinstance(target, Part):
        kind = "rating"
        top = target.max if target.max is not None else 100
        if points is None or not 0 <= points <= top:
            raise EntryError(f"a rating of {target.name} is a number from 0 to {top:g}; give it.")
    else:
        kind, effect_id = "veto", EFFECTS.get((effect or "").strip().lower())
        if effect_id is None:
            raise EntryError(f"a veto needs its effect: bar (取消资格: not {'/'.join(target.bars) or 'the top grades'}) "
                             "or exclude (不予考核).")
        effect, points = effect_id, None
    entry = ScoreEntry(unit=unit, kind=kind, key=key, points=points, effect=effect if kind == "veto" else None,
                       on=on, note=note or None, actor=actor, via=via)
    if evidence and evidence.receipt_no:
        ref = unicodedata.normalize("NFKC", evidence.receipt_no).strip().upper()
        if s.scalar(select(Submission.id).where(func.upper(Submission.receipt_no) == ref)) is None:
            raise EntryError(f"no submission with receipt number {evidence.receipt_no!r}; check it in "
                             "'mailbridge submissions list'.")
        entry.receipt_no = ref
    if evidence and evidence.path:
        try:
            data = evidence.path.read_bytes()
        except OSError as exc:
            raise EntryError(f"cannot read the evidence file {evidence.path}: {exc.strerror}.") from None
        entry.evidence_sha256 = Archive(config.storage.dir).put_kept(data)
        entry.evidence_name = evidence.path.name
    s.add(entry)
    s.add(Decision(score_entry=entry, action=ACTIONS[kind], actor=actor, via=via, note=note or None,
                   adopted_on=on))
    s.flush()
    return entry


def revoke(s: Session, entry_id: int, actor: str, via: str, note: str | None = None) -> ScoreEntry:
    entry = s.get(ScoreEntry, entry_id)
    if entry is None:
        raise EntryError(f"no score entry {entry_id}; see 'mailbridge scores list'.")
    if entry.revoked_at is not None:
        raise EntryError(f"score entry {entry_id} was revoked already ({entry.revoked_at:%Y-%m-%d %H:%M}).")
    entry.revoked_at = utcnow()
    s.add(Decision(score_entry=entry, action="revoke", actor=actor, via=via, note=note or None))
    s.flush()
    return entry


def between(s: Session, start: date, end: date) -> dict[int, list[ScoreEntry]]:
    """Entries in force dated start..end (inclusive), by unit id, oldest first."""
    out: dict[int, list[ScoreEntry]] = {}
    for entry in s.scalars(select(ScoreEntry).where(ScoreEntry.on >= start, ScoreEntry.on <= end,
                                                    ScoreEntry.revoked_at.is_(None))
                           .order_by(ScoreEntry.on, ScoreEntry.id)):
        out.setdefault(entry.unit_id, []).append(entry)
    return out


def entry_record(entry: ScoreEntry) -> dict:
    return {"id": entry.id, "unit": entry.unit.name, "kind": entry.kind, "key": entry.key,
            "points": entry.points, "effect": entry.effect, "date": entry.on.isoformat(), "note": entry.note,
            "evidence": entry.evidence_name, "evidence_sha256": entry.evidence_sha256,
            "receipt_no": entry.receipt_no, "actor": entry.actor, "via": entry.via,
            "revoked": entry.revoked_at is not None}


# --- the clerk's sheet (加扣分登记表) -----------------------------------------------------------

_COLUMNS = Columns({
    "unit": ("单位", "单位名称", "被考核单位", "单位(部门)", "unit"),
    "what": ("项目", "考核项目", "加扣分项目", "事项", "评价项目", "否决事项", "item"),
    "points": ("分值", "分数", "得分", "加扣分", "评分", "points"),
    "date": ("日期", "时间", "发生日期", "date"),
    "note": ("说明", "备注", "事由", "note"),
    "evidence": ("依据", "证明材料", "佐证材料", "回执号", "回执编号", "evidence"),
    "effect": ("处理", "否决方式", "effect"),
})
_RECEIPT = re.compile(r"^[A-Z]{2,10}-\d{4}-\d{2}-\d{3,}$", re.IGNORECASE)


@dataclass
class SheetResult:
    rows: int = 0
    lines: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def import_sheet(s: Session, config: Config, profile: Profile, path: Path, actor: str) -> SheetResult:
    """Record every row of the sheet in the caller's transaction; with errors the caller rolls back.

    依据 holds a receipt number, or the name of a file next to the sheet (archived with the entry).
    """
    if not path.name.lower().endswith(ACCEPTED):
        raise ConfigError(f"{path.name} is not an .xlsx, .csv or .docx file; save the sheet from Excel or WPS as .xlsx.")
    try:
        tables = list(grids(path.name, path.read_bytes()))
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}.") from None
    except TableFormatError as exc:
        raise ConfigError(str(exc)) from None
    found = next(((grid, h) for _, grid in tables
                  if (h := _COLUMNS.find_header(grid, lambda c: "unit" in c and "what" in c)) is not None), None)
    if found is None:
        raise ConfigError(f"no header row with 单位 and 项目 columns found in {path.name}; the sheet must name its "
                          "columns in one row.")
    grid, (top, cols) = found
    result = SheetResult()

    def cell(row: list[str], name: str) -> str:
        c = cols.get(name)
        return row[c].strip() if c is not None and c < len(row) else ""

    for r in range(top + 1, len(grid)):
        row, line = grid[r], r + 1
        if not any(x.strip() for x in row):
            continue
        result.rows += 1
        try:
            on = cell_date(cell(row, "date"))
        except ValueError:
            result.errors.append(f"row {line}: date {cell(row, 'date')!r} is not a date like 2020-09-15")
            continue
        text = cell(row, "points")
        try:
            points = float(text) if text else None
        except ValueError:
            result.errors.append(f"row {line}: points {text!r} is not a number")
            continue
        ref = cell(row, "evidence")
        if ref and not _RECEIPT.match(ref) and Path(ref).name != ref:
            result.errors.append(f"row {line}: evidence {ref!r} must be a receipt number or the name of a file "
                                 "in the sheet's folder")
            continue
        evidence = Evidence(receipt_no=ref) if _RECEIPT.match(ref) else Evidence(path=path.parent / ref) if ref else None
        try:
            entry = record(s, config, profile, cell(row, "unit"), cell(row, "what"), points, on, actor, "sheet",
                           cell(row, "note"), evidence, cell(row, "effect") or None)
        except EntryError as exc:
            result.errors.append(f"row {line}: {exc.message.rstrip('.')}")
            continue
        shown = "" if entry.points is None else f" {entry.points:g}"
        result.lines.append(f"row {line}: {entry.unit.name} {entry.key}{shown} {entry.on.isoformat()} (entry {entry.id})")
    return result
