"""The decision record: what the service decided about one part, and why.

Each field is declared once, here, with its kind (`record_fields.py`); the `decisions` table, the
store's rows, the API's `DecisionOut` and the CSV export's columns are derived from these
declarations by the functions below. A new field: add it to `DecisionRecord` (and an Alembic
migration for its column); everything else follows.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field
from pydantic.fields import FieldInfo
from sqlalchemy import Column

from gaikan.models.thresholds import Outcome, Thresholds
from gaikan.service.decision import Reason
from gaikan.service.record_fields import Choice, Declared, FieldKind, Number, StageTimes, ThresholdPair, Timestamp, ViewList, declare, text


@dataclass(frozen=True, slots=True, kw_only=True)
class ViewResult:
    """One view's result inside a station's part decision."""

    view: str = field(metadata={"description": "The view's name in the station"})
    camera_id: str
    frame_id: str | None = field(default=None, metadata={"description": "The view's frame; null when the view is missing"})
    decision: Outcome
    reason: Reason
    score: float | None = None
    model_version: str | None = None
    latency_ms: float | None = field(default=None, metadata={"description": "The view's capture to its decision"})
    detail: str | None = None

    def as_json(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        values["decision"], values["reason"] = self.decision.value, self.reason.value
        return values

    @classmethod
    def from_json(cls, values: Mapping[str, Any]) -> ViewResult:
        return cls(**{**values, "decision": Outcome(values["decision"]), "reason": Reason(values["reason"])})


@dataclass(frozen=True, slots=True, kw_only=True)
class DecisionRecord:
    """A decision before it is stored. Times are seconds since the epoch (UTC). Fields are in
    the order of the table's columns."""

    frame_id: str = field(metadata=declare(text(200), "Unique id of the frame: camera id and frame number"))
    camera_id: str = field(metadata=declare(text(100)))
    captured_at: float = field(metadata=declare(Timestamp(), "When the camera captured the part"))
    decided_at: float = field(metadata=declare(Timestamp(), "When the decision was made"))
    score: float | None = field(default=None, metadata=declare(Number(), "Image score; null when the part was not scored"))
    decision: Outcome = field(metadata=declare(Choice(Outcome, 16)))
    reason: Reason = field(metadata=declare(Choice(Reason, 32)))
    model_version: str | None = field(default=None, metadata=declare(text(64), "The model that scored the part"))
    thresholds: Thresholds | None = field(default=None, metadata=declare(ThresholdPair(), "The thresholds the score was judged by"))
    latency_ms: float = field(init=False, metadata=declare(Number(digits=3), "Capture to decision"))
    stages_ms: dict[str, float] = field(default_factory=dict, metadata=declare(StageTimes(), "Milliseconds per pipeline stage"))
    detail: str | None = field(default=None, metadata=declare(text(), "Why, for a fail-safe reject"))
    source: str | None = field(default=None, metadata=declare(text(500), "Where the frame came from (replay file name, …)"))
    views: tuple[ViewResult, ...] = field(
        default=(), metadata=declare(ViewList(ViewResult), "A station's part decision: each view's result (empty for one camera)")
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "latency_ms", (self.decided_at - self.captured_at) * 1000.0)


DEFAULT_LINE = "line-1"  # the line id of a service that names none (and of rows written before line ids)
LINE_ID_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"  # a line id (settings `line_id`): safe in an MQTT topic and a label


@dataclass(frozen=True, slots=True)
class ViewPictures:
    """The kept pictures of one view of a station's part decision (null: not kept)."""

    image_path: str | None = None
    heatmap_path: str | None = None


@dataclass(frozen=True, slots=True)
class StoredDecision:
    """A decision as persisted: `seq` comes from the store and never repeats within its line.
    `image_path` / `heatmap_path` are the part's pictures (for a station's part: those of the view
    that decided it); `view_pictures` has every view's, by view name (empty for one camera)."""

    seq: int
    record: DecisionRecord
    image_path: str | None = None
    heatmap_path: str | None = None
    line_id: str = DEFAULT_LINE  # the line that decided it (settings `line_id`)
    view_pictures: Mapping[str, ViewPictures] = field(default_factory=dict)


# --- Derived from the declarations --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DecisionField:
    name: str
    kind: FieldKind
    description: str | None
    hint: Any  # the annotation, resolved
    nullable: bool
    init: bool  # set by the constructor (latency_ms is computed)


def _declared_fields() -> tuple[DecisionField, ...]:
    hints = typing.get_type_hints(DecisionRecord)
    declared = []
    for item in dataclasses.fields(DecisionRecord):
        meta: Declared = item.metadata["gaikan"]
        hint = hints[item.name]
        nullable = isinstance(hint, types.UnionType) and type(None) in typing.get_args(hint)
        declared.append(DecisionField(item.name, meta.kind, meta.description, hint, nullable, item.init))
    return tuple(declared)


DECISION_FIELDS = _declared_fields()


def decision_columns() -> list[Column[Any]]:
    """New `Column`s for the record's fields, in order (the table adds seq and evidence paths)."""
    return [column for f in DECISION_FIELDS for column in f.kind.columns(f.name, f.nullable)]


def row_values(record: DecisionRecord) -> dict[str, Any]:
    """The record as table column values."""
    values: dict[str, Any] = {}
    for f in DECISION_FIELDS:
        values |= f.kind.to_row(f.name, getattr(record, f.name))
    return values


def record_from_row(row: Mapping[str, Any]) -> DecisionRecord:
    return DecisionRecord(**{f.name: f.kind.from_row(f.name, row) for f in DECISION_FIELDS if f.init})


def api_fields() -> dict[str, tuple[Any, FieldInfo]]:
    """The record's fields as pydantic field definitions for the API's `DecisionOut`."""
    return {f.name: (f.kind.api_type(f.hint), Field(description=f.description)) for f in DECISION_FIELDS}


def api_values(record: DecisionRecord) -> dict[str, Any]:
    return {f.name: f.kind.to_api(getattr(record, f.name)) for f in DECISION_FIELDS}


def csv_header() -> list[str]:
    """The CSV export's columns: seq, then the record's fields in order."""
    return ["seq", *(column for f in DECISION_FIELDS for column in f.kind.csv_header(f.name))]


def csv_row(stored: StoredDecision) -> list[Any]:
    record = stored.record
    return [stored.seq, *(cell for f in DECISION_FIELDS for cell in f.kind.csv_cells(getattr(record, f.name)))]
