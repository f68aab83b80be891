"""Exporting a scoring module to ONNX, and checking that ONNX Runtime computes what torch computes.

A scoring module takes the graph's input exactly, (N, H, W, C) uint8, and returns
(`score` (N,), `anomaly_map` (N, H, W)) float32. The module that is exported is the module that
scored the held-back images at training time, and `check_parity` runs both on the same images
before a package is written, so an exported model cannot silently disagree with training.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from gaikan.models.train_context import batches, to_tensor

INPUT_NAME = "image"
OUTPUT_NAMES = ("score", "anomaly_map")
OPSET = 17


class ExportError(RuntimeError):
    """The exported graph is unusable or disagrees with the torch module."""


def export_onnx(module: nn.Module, height: int, width: int, channels: int) -> bytes:
    """ONNX bytes of `module` (moved to CPU, eval mode) with a dynamic batch axis."""
    module = module.cpu().eval()
    example = torch.full((2, height, width, channels), 128, dtype=torch.uint8)
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notices
        torch.onnx.export(
            module,
            (example,),
            buffer,
            input_names=[INPUT_NAME],
            output_names=list(OUTPUT_NAMES),
            dynamic_axes={INPUT_NAME: {0: "N"}, OUTPUT_NAMES[0]: {0: "N"}, OUTPUT_NAMES[1]: {0: "N"}},
            opset_version=OPSET,
            dynamo=False,
            do_constant_folding=True,
        )
    return buffer.getvalue()


@torch.no_grad()
def torch_scores(module: nn.Module, images: np.ndarray, batch_size: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """(scores (N,), maps (N, H, W)) from the torch module on CPU."""
    module = module.cpu().eval()
    scores, maps = [], []
    for batch in batches(images, batch_size):
        score, anomaly_map = module(to_tensor(batch, torch.device("cpu")))
        scores.append(score.numpy())
        maps.append(anomaly_map.numpy())
    return np.concatenate(scores).astype(np.float32), np.concatenate(maps).astype(np.float32)


@dataclass(frozen=True, slots=True)
class Parity:
    """Largest torch-vs-ONNX-Runtime differences, relative to the largest torch value."""

    score_error: float
    map_error: float
    images: int

    @property
    def worst(self) -> float:
        return max(self.score_error, self.map_error)


def compare(
    torch_outputs: tuple[np.ndarray, np.ndarray], onnx_outputs: tuple[np.ndarray, np.ndarray], tolerance: float = 1e-3
) -> Parity:
    """Relative max differences; raises ExportError when shapes differ or an error exceeds `tolerance`."""
    (t_scores, t_maps), (o_scores, o_maps) = torch_outputs, onnx_outputs
    if t_scores.shape != o_scores.shape or t_maps.shape != o_maps.shape:
        raise ExportError(
            f"ONNX output shapes score {o_scores.shape}, anomaly_map {o_maps.shape} differ from torch "
            f"{t_scores.shape}, {t_maps.shape}"
        )
    scale = max(float(np.abs(t_maps).max(initial=0.0)), float(np.abs(t_scores).max(initial=0.0)), 1e-6)
    parity = Parity(
        score_error=float(np.abs(t_scores - o_scores).max(initial=0.0)) / scale,
        map_error=float(np.abs(t_maps - o_maps).max(initial=0.0)) / scale,
        images=len(t_scores),
    )
    if not np.isfinite(parity.worst) or parity.worst > tolerance:
        raise ExportError(
            f"ONNX Runtime disagrees with torch on {parity.images} images: relative error score "
            f"{parity.score_error:.2e}, anomaly_map {parity.map_error:.2e} (tolerance {tolerance:.0e})"
        )
    return parity
