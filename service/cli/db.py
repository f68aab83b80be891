"""`gaikan db`: the database schema (Alembic migrations) from the command line. A schema this
release cannot use exits 1 with the reason (see exits.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import Engine, make_url

from gaikan.service.cli.exits import fail

db_app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="The database schema: which revision it is at, and upgrading it (back it up first).",
)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="TOML settings file (also GAIKAN_CONFIG)", exists=True, dir_okay=False)
]
DataDirOption = Annotated[Path | None, typer.Option(help="Data directory (its gaikan.db unless database_url is set)")]


@contextmanager
def _database(config: Path | None, data_dir: Path | None) -> Iterator[tuple[str, Engine]]:
    """The configured database's URL and an engine (schema untouched); a `SchemaError` becomes exit 2."""
    from gaikan.service.settings import load_settings
    from gaikan.service.storage.database import connect
    from gaikan.service.storage.migrate import SchemaError

    url = load_settings(config, data_dir=data_dir).database
    engine = connect(url)
    try:
        typer.echo(f"database  {make_url(url).render_as_string(hide_password=True)}")
        yield url, engine
    except SchemaError as error:
        fail(str(error))
    finally:
        engine.dispose()


@db_app.command()
def current(config: ConfigOption = None, data_dir: DataDirOption = None) -> None:
    """Show the database's schema revision and the one this release needs (changes nothing).
    Exits 1 when the database needs `gaikan db upgrade`."""
    from gaikan.service.storage.migrate import schema_state

    with _database(config, data_dir) as (_, engine):
        state = schema_state(engine)
    typer.echo(f"schema    {state.describe()}")
    typer.echo(f"release   needs revision {state.head}")
    if not state.up_to_date:
        raise typer.Exit(1)


@db_app.command()
def upgrade(config: ConfigOption = None, data_dir: DataDirOption = None) -> None:
    """Upgrade the database to this release's schema: creates it when empty, stamps a database
    from Gaikan 0.1.0 (no schema version), then runs every newer migration."""
    from gaikan.service.storage.migrate import upgrade as upgrade_schema

    with _database(config, data_dir) as (_, engine):
        before, after = upgrade_schema(engine)
    if before == after:
        typer.echo(f"schema    {after.describe()}: nothing to do")
    else:
        typer.echo(f"schema    was {before.describe()}")
        typer.echo(f"          now {after.describe()}")
