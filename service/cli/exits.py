"""The command line's one exit-code convention, applied by the helpers below.

| code | meaning |
|---|---|
| 0 | done |
| 1 | the operation ran and failed or refused: unusable package or data, camera fault, a file it will not overwrite, a failed training |
| 2 | usage: the command line is wrong (unknown command or option, bad value, unknown architecture or camera kind, missing input file or folder, options that do not go together) |

Click (vendored by typer) gives 2 for its own usage errors; `usage()` raises the same kind of error for the checks
the commands make themselves, and `fail()` / `failures()` give 1 with `error: <reason>` on stderr.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer


class ExitCode(enum.IntEnum):
    OK = 0
    FAILED = 1
    USAGE = 2


def fail(message: str) -> NoReturn:
    """End the command: the operation failed or was refused (exit 1), the reason on stderr."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(ExitCode.FAILED)


class UsageError(typer.BadParameter):
    """The command line is wrong, not about one option: shown as the bare reason."""

    def format_message(self) -> str:
        return self.message


def usage(message: str, option: str | None = None) -> NoReturn:
    """End the command: the command line is wrong (exit 2), with the usage and the reason."""
    if option is not None:
        raise typer.BadParameter(message, param_hint=option)
    raise UsageError(message)


@contextmanager
def failures(*errors: type[Exception]) -> Iterator[None]:
    """Turn the listed domain errors raised inside the block into `fail(str(error))`."""
    try:
        yield
    except (typer.Exit, typer.BadParameter):
        raise  # already decided (typer's Exit is a RuntimeError)
    except errors as error:
        fail(str(error))
