"""What every architecture's fitting function receives: prepared images, device, seed, time budget,
epochs, its own options; plus the helpers they share (seeding, deadline, progress, batching)."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from tqdm import tqdm

from gaikan.models.nets.layers import ImageScoreKind, ScoreRule


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) so a run is repeatable for a given seed."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


def pick_device(requested: str) -> torch.device:
    """`auto` is CUDA when present, else CPU; asking for CUDA without one is an error."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda was asked for but torch sees no CUDA device")
    return torch.device(requested)


@dataclass
class Deadline:
    """A wall-clock budget; `None` minutes means no limit."""

    minutes: float | None
    started: float = field(default_factory=time.monotonic)

    @property
    def expired(self) -> bool:
        return self.minutes is not None and time.monotonic() - self.started >= self.minutes * 60.0


@dataclass
class TrainContext:
    """Inputs of one architecture fit.

    `train` and `holdout` are (N, H, W, C) uint8 batches exactly as the graph will receive them
    (already through `gaikan.models.preprocess`). `holdout` is for choosing the best checkpoint;
    it never enters a memory bank or a gradient. `defects` and `holdout_defects` are the confirmed
    defective images of a supervised architecture (empty for the good-only ones); the held-back
    ones set its thresholds and never enter a gradient either.
    """

    train: np.ndarray
    holdout: np.ndarray
    device: torch.device
    seed: int
    deadline: Deadline
    epochs: int | None
    options: BaseModel
    show_progress: bool = True
    defects: np.ndarray = field(default_factory=lambda: np.zeros((0, 1, 1, 1), np.uint8))
    holdout_defects: np.ndarray = field(default_factory=lambda: np.zeros((0, 1, 1, 1), np.uint8))
    notes: dict[str, Any] = field(default_factory=dict)  # what the fit wants recorded in the manifest

    @property
    def height(self) -> int:
        return int(self.train.shape[1])

    @property
    def width(self) -> int:
        return int(self.train.shape[2])

    @property
    def channels(self) -> int:
        return int(self.train.shape[3])

    def progress(self, total: int | None, description: str) -> tqdm:
        return tqdm(total=total, desc=description, disable=not self.show_progress, leave=False, dynamic_ncols=True)


class MapScoreOptions(BaseModel):
    """The image score rule (`--set image_score=max|topk_mean --set topk_fraction=F`) of every
    architecture whose score is read off its anomaly map; exported inside the graph."""

    model_config = ConfigDict(extra="forbid")
    image_score: ImageScoreKind = Field(
        "max", description="max: the map's hottest pixel; topk_mean: the mean of its hottest topk_fraction of pixels"
    )
    topk_fraction: float = Field(0.003, gt=0, le=1, description="share of the map's pixels topk_mean averages")

    @property
    def score_rule(self) -> ScoreRule:
        return ScoreRule(self.image_score, self.topk_fraction)


def batches(images: np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
    """Consecutive slices of at most `batch_size` images."""
    for start in range(0, len(images), batch_size):
        yield images[start : start + batch_size]


def to_tensor(images: np.ndarray, device: torch.device) -> torch.Tensor:
    """A uint8 NHWC numpy batch as a uint8 tensor on `device` (the graph's own input type)."""
    return torch.from_numpy(np.ascontiguousarray(images)).to(device)


class BestCheckpoint:
    """Keeps a copy of the module's weights whenever the validation loss improves."""

    def __init__(self) -> None:
        self.loss = float("inf")
        self.epoch: int | None = None
        self._state: dict[str, torch.Tensor] | None = None

    def offer(self, loss: float, module: torch.nn.Module, epoch: int) -> bool:
        if not loss < self.loss:
            return False
        self.loss, self.epoch = loss, epoch
        self._state = {k: v.detach().clone() for k, v in module.state_dict().items()}
        return True

    def restore(self, module: torch.nn.Module) -> None:
        if self._state is not None:
            module.load_state_dict(self._state)


def shuffled_batches(count: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """Index batches of one epoch in a seeded random order (the last one may be smaller)."""
    order = torch.randperm(count, generator=generator)
    return list(order.split(batch_size))
