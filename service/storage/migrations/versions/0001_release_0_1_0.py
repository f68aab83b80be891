"""The schema of Gaikan 0.1.0, which created its tables with `create_all`.

A database from that release has exactly these tables and no alembic_version table; it is stamped
with this revision (not re-created) when first opened by a release with migrations. The tables are
written out here, not taken from schema.py: a revision is a frozen record of one step.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TABLES = ("decisions", "audit", "model_versions", "model_activations", "threshold_overrides", "plc_acks")


def upgrade() -> None:
    text, number, integer, json = sa.String, sa.Double, sa.Integer, sa.JSON
    op.create_table(
        "decisions",
        sa.Column("seq", integer, primary_key=True, autoincrement=True),
        sa.Column("frame_id", text(200), nullable=False),
        sa.Column("camera_id", text(100), nullable=False),
        sa.Column("captured_at", number, nullable=False),
        sa.Column("decided_at", number, nullable=False),
        sa.Column("score", number, nullable=True),
        sa.Column("decision", text(16), nullable=False),
        sa.Column("reason", text(32), nullable=False),
        sa.Column("model_version", text(64), nullable=True),
        sa.Column("threshold_reject", number, nullable=True),
        sa.Column("threshold_review", number, nullable=True),
        sa.Column("latency_ms", number, nullable=False),
        sa.Column("stages_ms", json, nullable=False),
        sa.Column("detail", sa.Text, nullable=True),
        sa.Column("source", text(500), nullable=True),
        sa.Column("image_path", text(500), nullable=True),
        sa.Column("heatmap_path", text(500), nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_decisions_decision_seq", "decisions", ["decision", "seq"])
    op.create_index("ix_decisions_decided_at", "decisions", ["decided_at"])
    op.create_table(
        "audit",
        sa.Column("id", integer, primary_key=True, autoincrement=True),
        sa.Column("at", number, nullable=False),
        sa.Column("actor", text(100), nullable=False),
        sa.Column("action", text(64), nullable=False),
        sa.Column("target", text(200), nullable=True),
        sa.Column("old", json, nullable=True),
        sa.Column("new", json, nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "model_versions",
        sa.Column("version", text(64), primary_key=True),
        sa.Column("name", text(100), nullable=False),
        sa.Column("architecture", text(64), nullable=False),
        sa.Column("graph_sha256", text(64), nullable=False),
        sa.Column("path", text(500), nullable=False),
        sa.Column("uploaded_at", number, nullable=False),
        sa.Column("uploaded_by", text(100), nullable=False),
        sa.Column("manifest", json, nullable=False),
    )
    op.create_table(
        "model_activations",
        sa.Column("id", integer, primary_key=True, autoincrement=True),
        sa.Column("version", text(64), nullable=False),
        sa.Column("at", number, nullable=False),
        sa.Column("by", text(100), nullable=False),
        sa.Column("kind", text(16), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "threshold_overrides",
        sa.Column("model_version", text(64), primary_key=True),
        sa.Column("reject", number, nullable=False),
        sa.Column("review", number, nullable=True),
        sa.Column("updated_at", number, nullable=False),
        sa.Column("updated_by", text(100), nullable=False),
    )
    op.create_table(
        "plc_acks",
        sa.Column("client", text(100), primary_key=True),
        sa.Column("seq", integer, nullable=False),
        sa.Column("at", number, nullable=False),
    )


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
