"""Schema migrations on SQLite and a real PostgreSQL server: a database written by Gaikan 0.1.0
(tests/fixtures/release-0.1.0.*.sql) is recognised, stamped and upgraded without losing a row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from typer.testing import CliRunner

from gaikan.service.cli import app
from gaikan.service.line import Stores
from gaikan.service.records import DecisionRecord
from gaikan.service.decision import Outcome, Reason
from gaikan.service.storage.database import connect, open_database
from gaikan.service.storage.migrate import SchemaError, schema_state
from gaikan.service.storage.schema import metadata

FIXTURES = Path(__file__).parent / "fixtures"
TABLES = ("decisions", "audit", "model_versions", "model_activations", "threshold_overrides", "plc_acks")


def load_release_0_1_0(url: str) -> None:
    """Write the 0.1.0 database dump of this dialect into the (empty) database at `url`."""
    engine = connect(url)
    dump = (FIXTURES / f"release-0.1.0.{engine.dialect.name}.sql").read_text(encoding="utf-8")
    raw = engine.raw_connection()
    try:
        if engine.dialect.name == "sqlite":
            raw.driver_connection.executescript(dump)
        else:
            with raw.cursor() as cursor:
                cursor.execute(dump)
            raw.commit()
    finally:
        raw.close()
        engine.dispose()


def all_rows(url: str) -> dict[str, list[dict[str, Any]]]:
    engine = connect(url)
    with engine.connect() as connection:
        tables = sqlalchemy.MetaData()
        tables.reflect(connection, only=TABLES)
        rows = {
            name: [dict(r._mapping) for r in connection.execute(sqlalchemy.select(table).order_by(*table.primary_key.columns))]
            for name, table in tables.tables.items()
        }
    engine.dispose()
    return rows


def old_columns(rows: dict[str, list[dict[str, Any]]], like: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """`rows` with only the columns `like` has (per table)."""
    return {
        name: [{column: row[column] for column in (like[name][0] if like.get(name) else row)} for row in table]
        for name, table in rows.items()
    }


def schema_differences(engine: sqlalchemy.Engine) -> list[Any]:
    with engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection), metadata)


def test_release_0_1_0_database_is_stamped_and_upgraded_without_loss(database_url: str) -> None:
    load_release_0_1_0(database_url)
    before = all_rows(database_url)
    assert len(before["decisions"]) == 12 and len(before["audit"]) == 4

    state = schema_state(connect(database_url))
    assert state.current is None and set(state.unversioned) == set(TABLES)

    stores = Stores.open(database_url)  # the service's own start: migrate = "auto"
    assert schema_state(stores.engine).up_to_date
    assert schema_differences(stores.engine) == []
    # Every old row is kept (columns added since 0.1.0 come on top) and belongs to the default line now.
    after = all_rows(database_url)
    assert old_columns(after, before) == before
    assert {row["line_id"] for rows in after.values() for row in rows} == {"line-1"}

    # The service reads the old rows and carries on after them.
    assert stores.decisions.counts() == {"pass": 2, "review": 2, "reject": 8}
    assert stores.decisions.get(3).image_path == "images/2026-12-01/3.png"
    assert stores.decisions.get(5).record.detail == "fail-safe: camera_fault — 不良 (4)"
    assert stores.acks.acknowledged("line1-plc") == 9
    assert stores.versions.activation_stack() == ["demo-1"]
    assert stores.thresholds.get("demo-1").reject == 7.5
    record = DecisionRecord(frame_id="line1:2000", camera_id="line1", captured_at=1.0, decided_at=1.01, decision=Outcome.PASS, reason=Reason.SCORE, score=1.0)
    assert stores.decisions.append([record])[0].seq == 13
    stores.engine.dispose()


def test_an_empty_database_is_created_by_the_migrations_exactly_as_the_schema_declares(database_url: str) -> None:
    engine = open_database(database_url)
    state = schema_state(engine)
    assert state.up_to_date and state.current == state.head
    assert schema_differences(engine) == []
    engine.dispose()


def test_refuse_mode_leaves_an_old_database_alone_until_db_upgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gaikan.db'}"
    load_release_0_1_0(url)
    with pytest.raises(SchemaError, match="gaikan db upgrade"):
        open_database(url, "refuse")
    assert schema_state(connect(url)).current is None

    runner = CliRunner()
    current = runner.invoke(app, ["db", "current", "--data-dir", str(tmp_path)])
    assert current.exit_code == 1 and "unversioned" in current.output
    upgraded = runner.invoke(app, ["db", "upgrade", "--data-dir", str(tmp_path)])
    assert upgraded.exit_code == 0, upgraded.output
    assert f"now at revision {schema_state(connect(url)).head} (current)" in upgraded.output
    assert runner.invoke(app, ["db", "current", "--data-dir", str(tmp_path)]).exit_code == 0

    engine = open_database(url, "refuse")
    assert len(all_rows(url)["decisions"]) == 12
    engine.dispose()


def test_serve_refuses_to_start_on_an_old_schema_with_a_clear_message(tmp_path: Path) -> None:
    load_release_0_1_0(f"sqlite:///{tmp_path / 'gaikan.db'}")
    config = tmp_path / "gaikan.toml"
    config.write_text(f'data_dir = "{tmp_path}"\nmigrate = "refuse"\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["serve", "--config", str(config)])
    assert result.exit_code == 1
    assert 'migrate = "refuse"' in result.output and "gaikan db upgrade" in result.output


def test_a_schema_from_a_newer_release_is_refused_in_every_mode(database_url: str) -> None:
    open_database(database_url).dispose()
    engine = connect(database_url)
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text("UPDATE alembic_version SET version_num = 'f00d'"))
    for mode in ("auto", "refuse"):
        with pytest.raises(SchemaError, match="unknown to this release"):
            open_database(database_url, mode)
    engine.dispose()


def test_a_half_created_schema_is_not_touched(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gaikan.db'}"
    engine = connect(url)
    metadata.tables["decisions"].create(engine)
    with pytest.raises(SchemaError, match="refusing to touch it"):
        open_database(url)
    assert sqlalchemy.inspect(engine).get_table_names() == ["decisions"]
    engine.dispose()
