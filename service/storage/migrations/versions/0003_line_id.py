"""Line ids: several services (one per line) share one database (issue 15).

Every row that belongs to a line gets its `line_id`; the rows already there belong to the default
line `line-1`. Decision seqs become per line: the key of `decisions` (and of `rechecks`, which
points at a decision) is (line_id, seq), and `line_sequences` holds each line's newest seq, moved
in the transaction that stores the decisions. Acknowledgements, model versions, threshold
overrides, activations and the audit trail are per line too.

SQLite cannot change a primary key in place, so the tables whose key changes are rebuilt: copied
into a new table (columns taken from the database itself, so a column another revision added
comes along), the old one dropped, the new one renamed. Children before parents: `rechecks`
points at `decisions`.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

LINE = "line-1"  # the line of every row written before line ids
# table -> its new primary key (line_id first); the order is the order of creation
REKEYED = {
    "decisions": ("line_id", "seq"),
    "rechecks": ("line_id", "seq"),
    "plc_acks": ("line_id", "client"),
    "model_versions": ("line_id", "version"),
    "threshold_overrides": ("line_id", "model_version"),
}
LINE_INDEXED = ("decisions",)  # every index of these tables starts with line_id (every query is per line)
TAGGED = ("audit", "model_activations")  # only gain the column


def _line_column() -> sa.Column:
    return sa.Column("line_id", sa.String(64), nullable=False)


def _highest_seq(bind: sa.Connection) -> int:
    """The highest seq ever given out: the table's, or the autoincrement counter's where newest rows were deleted."""
    highest = bind.execute(sa.text("SELECT max(seq) FROM decisions")).scalar() or 0
    if bind.dialect.name == "sqlite":
        counter = bind.execute(sa.text("SELECT seq FROM sqlite_sequence WHERE name = 'decisions'")).scalar()
    else:
        sequence = bind.execute(sa.text("SELECT pg_get_serial_sequence('decisions', 'seq')")).scalar()
        counter = (
            bind.execute(sa.text(f"SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {sequence}")).scalar()
            if sequence
            else None
        )
    return max(int(highest), int(counter or 0))


def _copy(bind: sa.Connection, tables: sa.MetaData, name: str, key: tuple[str, ...], new_names: dict[str, str]) -> list[dict]:
    """Create `<name>_0003` with the old table's columns plus line_id and the new key, copy the
    rows; returns the old table's indexes (they go with it)."""
    old = sa.Table(name, tables, autoload_with=bind)
    indexes = sa.inspect(bind).get_indexes(name)
    columns = [_line_column()] + [
        sa.Column(c.name, c.type, nullable=c.nullable and c.name not in key, autoincrement=False) for c in old.columns
    ]
    extra: list[sa.SchemaItem] = [sa.PrimaryKeyConstraint(*key, name=f"pk_{name}")]
    if name == "rechecks":
        extra.append(
            sa.ForeignKeyConstraint(
                ["line_id", "seq"], [f"{new_names['decisions']}.line_id", f"{new_names['decisions']}.seq"], name="fk_rechecks_decision"
            )
        )
    new = sa.Table(new_names[name], tables, *columns, *extra)
    new.create(bind)
    bind.execute(sa.insert(new).from_select(["line_id", *old.columns.keys()], sa.select(sa.literal(LINE), *old.columns)))
    return indexes


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table(
        "line_sequences",
        sa.Column("line_id", sa.String(64), primary_key=True),
        sa.Column("last_seq", sa.Integer, nullable=False),
    )
    highest = _highest_seq(bind)
    if highest:
        bind.execute(sa.text("INSERT INTO line_sequences (line_id, last_seq) VALUES (:line, :seq)"), {"line": LINE, "seq": highest})

    new_names = {name: f"{name}_0003" for name in REKEYED}
    tables = sa.MetaData()
    indexes = {name: _copy(bind, tables, name, key, new_names) for name, key in REKEYED.items()}
    for name in reversed(list(REKEYED)):  # children first
        op.drop_table(name)
    for name in REKEYED:
        op.rename_table(new_names[name], name)
        for index in indexes[name]:
            columns = list(index["column_names"])
            if name in LINE_INDEXED and columns[0] != "line_id":
                columns = ["line_id", *columns]
            op.create_index(index["name"], name, columns, unique=bool(index["unique"]))

    for name in TAGGED:
        op.add_column(name, sa.Column("line_id", sa.String(64), nullable=False, server_default=LINE))
        if bind.dialect.name != "sqlite":  # SQLite keeps the default (dropping it means copying the table); every write names its line
            op.alter_column(name, "line_id", server_default=None)


def downgrade() -> None:
    raise NotImplementedError("line ids cannot be removed once several lines may share the database; restore a backup")
