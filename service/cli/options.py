"""Options, parsers and help text shared by several command groups."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from gaikan.service.cli.exits import usage

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="TOML settings file (also GAIKAN_CONFIG)", exists=True, dir_okay=False)
]


def registry_help(title: str, entries: dict[str, str]) -> str:
    """A help paragraph listing a registry: `title` then one `name: description` line each."""
    lines = "\n\n".join(f"[bold]{escape(name)}[/bold]: {escape(description)}" for name, description in entries.items())
    return f"{escape(title)}\n\n{lines}"


def parse_sets(items: list[str], option: str = "--set") -> dict[str, str]:
    """Repeated `KEY=VALUE` options as a mapping (dashes in keys become underscores)."""
    options: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            usage(f"{item!r}: expected KEY=VALUE", option)
        options[key.strip().replace("-", "_")] = value.strip()
    return options


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    lines = [headers, ["-" * width for width in widths], *rows]
    return "\n".join("  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() for line in lines)
