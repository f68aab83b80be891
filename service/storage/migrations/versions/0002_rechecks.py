"""Re-check verdicts: what a person found when re-checking a part (issue 12).

One row per decision that has been re-checked (the newest verdict; the audit trail keeps every
change). `exported_at` is null until `gaikan dataset export` has written the part out; until then
image retention keeps its pictures.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rechecks",
        sa.Column("seq", sa.Integer, sa.ForeignKey("decisions.seq"), primary_key=True, autoincrement=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("defect_type", sa.String(64), nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("checked_at", sa.Double, nullable=False),
        sa.Column("checked_by", sa.String(100), nullable=False),
        sa.Column("exported_at", sa.Double, nullable=True),
    )
    op.create_index("ix_rechecks_exported_at", "rechecks", ["exported_at"])


def downgrade() -> None:
    op.drop_index("ix_rechecks_exported_at", table_name="rechecks")
    op.drop_table("rechecks")
