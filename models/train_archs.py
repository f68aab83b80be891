"""The training side of the architecture registry (`gaikan.models.architectures`): each
architecture has an options model (set with `--set KEY=VALUE`) and a fit function that turns a
`TrainContext` into a scoring module."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from torch import nn

from gaikan.models.architectures import architecture_entry, architecture_names
from gaikan.models.train_context import TrainContext

__all__ = ["Architecture", "architecture_names", "get_architecture", "parse_options"]


@dataclass(frozen=True, slots=True)
class Architecture:
    """A registered architecture (`gaikan.models.architectures`) with its training code loaded."""

    name: str
    summary: str
    options: type[BaseModel]
    fit: Callable[[TrainContext], nn.Module]
    parity_tolerance: float = 1e-3
    supervised: bool = False


def _load(reference: str) -> Any:
    module, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(module), attribute)


def get_architecture(name: str) -> Architecture:
    """The training form of a registered architecture; ValueError for an unknown name."""
    entry = architecture_entry(name)
    return Architecture(
        entry.name, entry.summary, _load(entry.options), _load(entry.fit), entry.parity_tolerance, entry.supervised
    )


def parse_options(architecture: Architecture, values: dict[str, Any]) -> BaseModel:
    """The architecture's options from `KEY=VALUE` settings; the error names the bad key."""
    try:
        return architecture.options.model_validate(values)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())
        known = ", ".join(architecture.options.model_fields)
        raise ValueError(f"--set for {architecture.name}: {problems} (options: {known})") from error
