"""Schema migrations with Alembic: where a database stands and how it reaches this release's schema.

The revisions live in `migrations/versions/` beside this module and ship in the wheel. Revision 0001
is the schema of Gaikan 0.1.0, which created its tables with `create_all` and kept no version: such
a database is recognised by its tables and stamped 0001, never re-created."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

log = logging.getLogger(__name__)

MigrateMode = Literal["auto", "refuse"]
MIGRATIONS = Path(__file__).with_name("migrations")
BASELINE = "0001"  # the schema of 0.1.0, the last release without migrations
_LOCK_ID = 0x6761696B616E  # PostgreSQL advisory lock: one migrating process at a time ("gaikan")


class SchemaError(RuntimeError):
    """The database's schema cannot be used by this release as it is; the message says what to do."""


@dataclass(frozen=True, slots=True)
class SchemaState:
    current: str | None  # the database's Alembic revision; None when it has none
    head: str  # the revision this release needs
    known: bool  # `current` is one of this release's revisions (or None)
    unversioned: tuple[str, ...]  # Gaikan tables found without a revision (a 0.1.0 database)

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head

    @property
    def empty(self) -> bool:
        return self.current is None and not self.unversioned

    def describe(self) -> str:
        if self.empty:
            return "empty (no Gaikan tables)"
        if self.current is None:
            return f"unversioned: tables from before migrations ({BASELINE}, Gaikan 0.1.0)"
        if not self.known:
            return f"at revision {self.current}, unknown to this release (written by a newer Gaikan?)"
        return f"at revision {self.current}" + (" (current)" if self.up_to_date else f", this release needs {self.head}")


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _read_state(connection: Connection, script: ScriptDirectory) -> SchemaState:
    current = MigrationContext.configure(connection).get_current_revision()
    head = script.get_current_head()
    assert head is not None, "no migration revisions shipped"
    known = current is None or current in {rev.revision for rev in script.walk_revisions()}
    unversioned: tuple[str, ...] = ()
    if current is None:
        baseline_tables = script.get_revision(BASELINE).module.TABLES
        present = set(inspect(connection).get_table_names())
        unversioned = tuple(name for name in baseline_tables if name in present)
        if unversioned and len(unversioned) != len(baseline_tables):
            missing = sorted(set(baseline_tables) - present)
            raise SchemaError(
                f"the database has some Gaikan tables ({', '.join(unversioned)}) but not {', '.join(missing)} and no "
                "schema version: it was not written by Gaikan 0.1.0 or later; refusing to touch it"
            )
    return SchemaState(current=current, head=head, known=known, unversioned=unversioned)


def schema_state(engine: Engine) -> SchemaState:
    """Where the database stands (raises `SchemaError` for a half-created schema)."""
    with engine.connect() as connection:
        return _read_state(connection, ScriptDirectory.from_config(_config()))


def _require_known(state: SchemaState) -> None:
    if not state.known:
        raise SchemaError(
            f"database schema is {state.describe()}; this release knows revisions up to {state.head}. "
            "Run the Gaikan release that wrote it, or restore a backup taken before the upgrade"
        )


def upgrade(engine: Engine) -> tuple[SchemaState, SchemaState]:
    """Bring the database to this release's schema: create it when empty, stamp a 0.1.0 database
    as revision 0001, then run every newer revision, all in one transaction where the database
    allows it. Returns the states before and after."""
    script = ScriptDirectory.from_config(_config())
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
        before = _read_state(connection, script)
        _require_known(before)
        config = _config(connection)
        if before.current is None and before.unversioned:
            command.stamp(config, BASELINE)
        command.upgrade(config, "head")
        after = _read_state(connection, script)
    if before.empty and engine.dialect.name == "sqlite":
        # The revisions rebuild some tables: a new database gives the dropped copies' pages back.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM")
    if before != after:
        log.info("database schema upgraded: %s -> %s", before.describe(), after.describe())
    return before, after


def ensure_schema(engine: Engine, mode: MigrateMode) -> SchemaState:
    """Make sure the database has this release's schema before the service uses it: upgrade it
    (`auto`) or refuse with a clear message (`refuse`). A schema from a newer release is always refused."""
    state = schema_state(engine)
    _require_known(state)
    if state.up_to_date:
        return state
    if mode == "refuse":
        raise SchemaError(
            f"database schema is {state.describe()}; this release needs revision {state.head} and the setting "
            'migrate = "refuse" forbids changing it. Back the database up, then run `gaikan db upgrade` '
            '(or set migrate = "auto")'
        )
    try:
        return upgrade(engine)[1]
    except Exception:
        # Another process (a second service on the same SQLite file) may have upgraded it meanwhile.
        again = schema_state(engine)
        if again.up_to_date:
            return again
        raise
