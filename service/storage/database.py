"""Engine creation: SQLite in WAL mode with sane pragmas, or any SQLAlchemy URL (PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event

from gaikan.service.storage.migrate import MigrateMode, ensure_schema


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{Path(path).resolve()}"


def connect(url: str) -> Engine:
    """An engine for `url`, schema untouched."""
    if url.startswith("sqlite"):
        database = url.split("///", 1)[-1]
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(connection, _record) -> None:  # noqa: ANN001 - DB-API connection
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")  # a served decision survives power loss too
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

    else:
        engine = create_engine(url, pool_pre_ping=True)
    return engine


def open_database(url: str, migrate: MigrateMode = "auto") -> Engine:
    """Connect, bring the schema to this release's (or refuse, see `ensure_schema`), return the engine."""
    engine = connect(url)
    try:
        ensure_schema(engine, migrate)
    except Exception:
        engine.dispose()
        raise
    return engine
