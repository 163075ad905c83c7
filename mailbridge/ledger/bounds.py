"""Every string the ledger stores fits its column, on every database.

SQLite stores a NUL and ignores VARCHAR lengths; PostgreSQL refuses both ("text fields cannot
contain NUL (0x00) bytes", "value too long for type character varying(500)"), and the write that
fails takes the whole poll with it. So before an INSERT or UPDATE every string attribute of a
mapped String/Text column loses its NULs (a NUL is never text: it comes from a mis-decoded UTF-16
file or a binary part) and is cut to the column's length, the cut marked with an ellipsis.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import Column, String, Table, event
from sqlalchemy.orm import Mapper

MARK = "…"  # a cut value says so; one character, so the bound still holds


def fit(value: str, length: int | None) -> str:
    """`value` without NULs, at most `length` characters (None: unbounded)."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    if length is not None and len(value) > length:
        value = value[: length - len(MARK)] + MARK
    return value


_COLUMNS: dict[Mapper, list[tuple[str, int | None]]] = {}


def fit_to(value: str, column: Column[Any]) -> str:
    """`value` fitted to a string column (see `fit`)."""
    return fit(value, column.type.length if isinstance(column.type, String) else None)


def fit_values(table: Table, values: dict[str, Any]) -> dict[str, Any]:
    """A Core statement's values with each string fitted to its column: Core INSERTs and UPDATEs
    skip the ORM events below, so the statements built for speed fit their values here."""
    return {key: fit_to(value, table.c[key]) if isinstance(value, str) else value for key, value in values.items()}


def _string_columns(mapper: Mapper) -> list[tuple[str, int | None]]:
    cached = _COLUMNS.get(mapper)
    if cached is None:
        cached = [(prop.key, col.type.length) for prop in mapper.column_attrs for col in prop.columns
                  if isinstance(col.type, String)]  # Text is a String with no length
        _COLUMNS[mapper] = cached
    return cached


def _fit_target(mapper: Mapper, _connection: object, target: object) -> None:
    state = vars(target)
    for key, length in _string_columns(mapper):
        value = state.get(key)  # only loaded values: an unloaded one is not being written
        if isinstance(value, str):
            fitted = fit(value, length)
            if fitted != value:
                setattr(target, key, fitted)


def install(base: type) -> None:
    """Fit every model under `base` (declarative base) before it is written."""
    for name in ("before_insert", "before_update"):
        if not event.contains(base, name, _fit_target):
            event.listen(base, name, _fit_target, propagate=True)
