"""Table definitions."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Double,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from gaikan.service.records import decision_columns

metadata = MetaData()


def _line_id() -> Column[str]:
    """The line a row belongs to: several services (one per line) may share one database; each
    reads and writes only its own line's rows."""
    return Column("line_id", String(64), nullable=False)


# The next seq of each line: decisions are numbered per line, gap-free (the counter moves in the
# transaction that stores the decisions, so a rolled-back insert leaves no hole) and never reused.
line_sequences = Table(
    "line_sequences",
    metadata,
    Column("line_id", String(64), primary_key=True),
    Column("last_seq", Integer, nullable=False),
)

decisions = Table(
    "decisions",
    metadata,
    _line_id(),
    Column("seq", Integer, nullable=False, autoincrement=False),  # per line, from line_sequences
    *decision_columns(),  # the fields of `DecisionRecord`, declared in service/records.py
    Column("image_path", String(500), nullable=True),
    Column("heatmap_path", String(500), nullable=True),
    # a station's part: each view's kept pictures, {view: {"image": path, "heatmap": path}}; null for one camera
    Column("view_pictures", JSON, nullable=True),
    PrimaryKeyConstraint("line_id", "seq", name="pk_decisions"),
)
Index("ix_decisions_decision_seq", decisions.c.line_id, decisions.c.decision, decisions.c.seq)
Index("ix_decisions_decided_at", decisions.c.line_id, decisions.c.decided_at)

audit = Table(
    "audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _line_id(),
    Column("at", Double, nullable=False),
    Column("actor", String(100), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(200), nullable=True),
    Column("old", JSON, nullable=True),
    Column("new", JSON, nullable=True),
    sqlite_autoincrement=True,
)

model_versions = Table(
    "model_versions",
    metadata,
    _line_id(),
    Column("version", String(64), nullable=False),
    Column("name", String(100), nullable=False),
    Column("architecture", String(64), nullable=False),
    Column("graph_sha256", String(64), nullable=False),
    Column("path", String(500), nullable=False),
    Column("uploaded_at", Double, nullable=False),
    Column("uploaded_by", String(100), nullable=False),
    Column("manifest", JSON, nullable=False),
    PrimaryKeyConstraint("line_id", "version", name="pk_model_versions"),
)

model_activations = Table(
    "model_activations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _line_id(),
    Column("version", String(64), nullable=False),
    Column("at", Double, nullable=False),
    Column("by", String(100), nullable=False),
    Column("kind", String(16), nullable=False),  # "activate" or "rollback"
    sqlite_autoincrement=True,
)

threshold_overrides = Table(
    "threshold_overrides",
    metadata,
    _line_id(),
    Column("model_version", String(64), nullable=False),
    Column("reject", Double, nullable=False),
    Column("review", Double, nullable=True),
    Column("updated_at", Double, nullable=False),
    Column("updated_by", String(100), nullable=False),
    PrimaryKeyConstraint("line_id", "model_version", name="pk_threshold_overrides"),
)

plc_acks = Table(
    "plc_acks",
    metadata,
    _line_id(),
    Column("client", String(100), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("at", Double, nullable=False),
    PrimaryKeyConstraint("line_id", "client", name="pk_plc_acks"),
)

# A person's re-check of one decided part: at most one current verdict per decision (a change
# replaces it; the audit trail keeps every version). `exported_at` is null until `gaikan dataset
# export` has written the part out; until then image retention keeps its pictures.
rechecks = Table(
    "rechecks",
    metadata,
    _line_id(),
    Column("seq", Integer, nullable=False, autoincrement=False),
    Column("verdict", String(16), nullable=False),  # "defective" or "good"
    Column("defect_type", String(64), nullable=True),
    Column("note", Text, nullable=True),
    Column("checked_at", Double, nullable=False),
    Column("checked_by", String(100), nullable=False),
    Column("exported_at", Double, nullable=True),
    PrimaryKeyConstraint("line_id", "seq", name="pk_rechecks"),
    ForeignKeyConstraint(["line_id", "seq"], ["decisions.line_id", "decisions.seq"], name="fk_rechecks_decision"),
)
Index("ix_rechecks_exported_at", rechecks.c.exported_at)
