"""Table definitions."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Double, ForeignKey, Index, Integer, MetaData, String, Table, Text

from gaikan.service.records import decision_columns

metadata = MetaData()

decisions = Table(
    "decisions",
    metadata,
    # AUTOINCREMENT on SQLite: a seq is never reused, even after the newest rows are deleted.
    Column("seq", Integer, primary_key=True, autoincrement=True),
    *decision_columns(),  # the fields of `DecisionRecord`, declared in service/records.py
    Column("image_path", String(500), nullable=True),
    Column("heatmap_path", String(500), nullable=True),
    sqlite_autoincrement=True,
)
Index("ix_decisions_decision_seq", decisions.c.decision, decisions.c.seq)
Index("ix_decisions_decided_at", decisions.c.decided_at)

audit = Table(
    "audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
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
    Column("version", String(64), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("architecture", String(64), nullable=False),
    Column("graph_sha256", String(64), nullable=False),
    Column("path", String(500), nullable=False),
    Column("uploaded_at", Double, nullable=False),
    Column("uploaded_by", String(100), nullable=False),
    Column("manifest", JSON, nullable=False),
)

model_activations = Table(
    "model_activations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("version", String(64), nullable=False),
    Column("at", Double, nullable=False),
    Column("by", String(100), nullable=False),
    Column("kind", String(16), nullable=False),  # "activate" or "rollback"
    sqlite_autoincrement=True,
)

threshold_overrides = Table(
    "threshold_overrides",
    metadata,
    Column("model_version", String(64), primary_key=True),
    Column("reject", Double, nullable=False),
    Column("review", Double, nullable=True),
    Column("updated_at", Double, nullable=False),
    Column("updated_by", String(100), nullable=False),
)

plc_acks = Table(
    "plc_acks",
    metadata,
    Column("client", String(100), primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("at", Double, nullable=False),
)

# A person's re-check of one decided part: at most one current verdict per decision (a change
# replaces it; the audit trail keeps every version). `exported_at` is null until `gaikan dataset
# export` has written the part out; until then image retention keeps its pictures.
rechecks = Table(
    "rechecks",
    metadata,
    Column("seq", Integer, ForeignKey("decisions.seq"), primary_key=True, autoincrement=False),
    Column("verdict", String(16), nullable=False),  # "defective" or "good"
    Column("defect_type", String(64), nullable=True),
    Column("note", Text, nullable=True),
    Column("checked_at", Double, nullable=False),
    Column("checked_by", String(100), nullable=False),
    Column("exported_at", Double, nullable=True),
)
Index("ix_rechecks_exported_at", rechecks.c.exported_at)
