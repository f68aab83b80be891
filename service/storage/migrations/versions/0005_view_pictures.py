"""Station part decisions: every view's kept pictures (issue 15).

`view_pictures` holds the paths of each view's part image and heatmap, by view name (JSON, null
for a one-camera decision); `image_path` / `heatmap_path` stay those of the deciding view.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("view_pictures", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("view_pictures")
