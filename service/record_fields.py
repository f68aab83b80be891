"""Kinds of decision fields: how one field of `DecisionRecord` is kept in the table, shown by the
API and written to the CSV export. `records.py` declares each field once with its kind; the
table (`storage/schema.py`), the store, `DecisionOut` and the CSV columns are derived from that."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, Double, String, Text
from sqlalchemy.types import TypeEngine

from gaikan.models.thresholds import Thresholds


def utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


class FieldKind:
    """A value stored in one column as it is, shown as it is, one CSV cell ("" for none)."""

    def __init__(self, sql_type: TypeEngine[Any] | type[TypeEngine[Any]]) -> None:
        self.sql_type = sql_type

    def columns(self, name: str, nullable: bool) -> list[Column[Any]]:
        return [Column(name, self.sql_type, nullable=nullable)]

    def to_row(self, name: str, value: Any) -> dict[str, Any]:
        return {name: value}

    def from_row(self, name: str, row: Mapping[str, Any]) -> Any:
        return row[name]

    def api_type(self, hint: Any) -> Any:
        return hint

    def to_api(self, value: Any) -> Any:
        return value

    def csv_header(self, name: str) -> list[str]:
        return [name]

    def csv_cells(self, value: Any) -> list[Any]:
        return ["" if value is None else value]


def text(length: int | None = None) -> FieldKind:
    """A string column (`Text` without a length)."""
    return FieldKind(String(length) if length else Text())


class Number(FieldKind):
    """A float; `digits` rounds it for the API and the CSV (the table keeps it whole)."""

    def __init__(self, digits: int | None = None) -> None:
        super().__init__(Double)
        self.digits = digits

    def to_api(self, value: Any) -> Any:
        return value if value is None or self.digits is None else round(value, self.digits)

    def csv_cells(self, value: Any) -> list[Any]:
        return ["" if value is None else self.to_api(value)]


class Timestamp(FieldKind):
    """Seconds since the epoch in the table; a UTC date-time in the API, ISO 8601 in the CSV."""

    def __init__(self) -> None:
        super().__init__(Double)

    def api_type(self, hint: Any) -> Any:
        return datetime

    def to_api(self, value: Any) -> Any:
        return utc(value)

    def csv_cells(self, value: Any) -> list[Any]:
        return [utc(value).isoformat()]


class Choice(FieldKind):
    """A string enum (outcome, reason): its value in the table and the CSV."""

    def __init__(self, enum_type: type[enum.StrEnum], length: int) -> None:
        super().__init__(String(length))
        self.enum_type = enum_type

    def to_row(self, name: str, value: Any) -> dict[str, Any]:
        return {name: value.value}

    def from_row(self, name: str, row: Mapping[str, Any]) -> Any:
        return self.enum_type(row[name])

    def csv_cells(self, value: Any) -> list[Any]:
        return [value.value]


class StageTimes(FieldKind):
    """Milliseconds per pipeline stage: JSON in the table, rounded in the API, not in the CSV."""

    def __init__(self) -> None:
        super().__init__(JSON)

    def from_row(self, name: str, row: Mapping[str, Any]) -> Any:
        return dict(row[name] or {})

    def to_api(self, value: Any) -> Any:
        return {stage: round(ms, 3) for stage, ms in value.items()}

    def csv_header(self, name: str) -> list[str]:
        return []

    def csv_cells(self, value: Any) -> list[Any]:
        return []


class ThresholdPair(FieldKind):
    """`Thresholds` as two columns and two CSV cells, `threshold_reject` and `threshold_review`."""

    PARTS = ("reject", "review")

    def __init__(self) -> None:
        super().__init__(Double)

    def columns(self, name: str, nullable: bool) -> list[Column[Any]]:
        return [Column(column, Double, nullable=True) for column in self.csv_header(name)]

    def to_row(self, name: str, value: Any) -> dict[str, Any]:
        return dict(zip(self.csv_header(name), self._parts(value), strict=True))

    def from_row(self, name: str, row: Mapping[str, Any]) -> Any:
        reject, review = (row[column] for column in self.csv_header(name))
        return None if reject is None else Thresholds(reject=reject, review=review)

    def csv_header(self, name: str) -> list[str]:
        return [f"threshold_{part}" for part in self.PARTS]

    def csv_cells(self, value: Any) -> list[Any]:
        return ["" if part is None else part for part in self._parts(value)]

    @staticmethod
    def _parts(value: Thresholds | None) -> tuple[float | None, float | None]:
        return (None, None) if value is None else (value.reject, value.review)


class ViewList(FieldKind):
    """A station's per-view results: JSON in the table (null for a one-camera decision), a list in
    the API, one `views` CSV cell (`view=outcome/reason` separated by `;`)."""

    def __init__(self, item: type[Any]) -> None:
        super().__init__(JSON)
        self.item = item

    def columns(self, name: str, nullable: bool) -> list[Column[Any]]:
        return [Column(name, JSON, nullable=True)]

    def to_row(self, name: str, value: Any) -> dict[str, Any]:
        return {name: [view.as_json() for view in value] if value else None}

    def from_row(self, name: str, row: Mapping[str, Any]) -> Any:
        return tuple(self.item.from_json(view) for view in row[name] or ())

    def api_type(self, hint: Any) -> Any:
        return list[self.item]  # type: ignore[name-defined]

    def to_api(self, value: Any) -> Any:
        return list(value)

    def csv_cells(self, value: Any) -> list[Any]:
        return [";".join(f"{view.view}={view.decision.value}/{view.reason}" for view in value)]


@dataclass(frozen=True, slots=True)
class Declared:
    """What a field's `metadata` carries: its kind and the API's description of it."""

    kind: FieldKind
    description: str | None = None


def declare(kind: FieldKind, description: str | None = None) -> dict[str, Declared]:
    """`dataclasses.field(metadata=declare(...))` for a field of `DecisionRecord`."""
    return {"gaikan": Declared(kind, description)}
