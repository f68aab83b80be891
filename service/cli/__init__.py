"""The `gaikan` command line: one module per group of commands, each a typer app.

| module | commands |
|---|---|
| `serve.py` | `serve`, `demo`, `version` |
| `models.py` | `train`, `eval`, `calibrate` (architectures from `gaikan.models.architectures`) |
| `cameras.py` | `cameras`, `grab` (camera kinds from `gaikan.camera.config.CAMERA_KINDS`) |
| `data.py` | `data check`, `data synth` |
| `db.py` | `db current`, `db upgrade` (Alembic migrations) |
| `dataset.py` | `dataset export` (re-checked parts as an MVTec AD folder) |

Exit codes (`exits.py`): 0 done, 1 the operation failed or refused, 2 the command line is wrong.
A new command goes into the module of its group (or a new module added below) with its test in
`tests/test_service_cli.py` or the test of what it drives.
"""

from __future__ import annotations

import typer

from gaikan.service.cli import cameras, data, dataset, db, models, serve

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Gaikan: real-time visual inspection with good-only anomaly models.",
    epilog="Exit codes: 0 done, 1 the operation failed or refused, 2 the command line is wrong.",
)
app.add_typer(serve.app)
app.add_typer(models.app)
app.add_typer(cameras.app)
app.add_typer(data.app, name="data")
app.add_typer(db.db_app, name="db")
app.add_typer(dataset.dataset_app, name="dataset")


def main() -> None:
    app()


__all__ = ["app", "main"]
