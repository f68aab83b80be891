"""Running a model package in ONNX Runtime: the one scoring path used by serving and evaluation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gaikan.models.package import ModelPackage, PackageError
from gaikan.models.preprocess import prepare_batch

PROVIDER_PREFERENCE: tuple[str, ...] = (
    "TensorrtExecutionProvider",
    "CUDAExecutionProvider",
    "CPUExecutionProvider",
)


def _onnxruntime():  # noqa: ANN202 - module
    try:
        import onnxruntime
    except ImportError as error:  # pragma: no cover - depends on the install
        raise RuntimeError(
            "ONNX Runtime is not installed: install gaikan[cpu] (onnxruntime) or gaikan[gpu] (onnxruntime-gpu)"
        ) from error
    return onnxruntime


def choose_providers(requested: Sequence[str] | None = None) -> list[str]:
    """Execution providers in preference order TensorRT > CUDA > CPU, limited to those this
    ONNX Runtime build offers; `requested` narrows the choice (unknown names are ignored, CPU is
    always kept as the last resort)."""
    available = set(_onnxruntime().get_available_providers())
    wanted = list(requested) if requested else list(PROVIDER_PREFERENCE)
    chosen = [p for p in PROVIDER_PREFERENCE if p in wanted and p in available]
    if "CPUExecutionProvider" not in chosen:
        chosen.append("CPUExecutionProvider")
    return chosen


@dataclass(frozen=True, slots=True)
class Scores:
    """Model outputs for a batch: `scores` (N,) and `maps` (N, h, w), float32."""

    scores: np.ndarray
    maps: np.ndarray


class OnnxModel:
    """An immutable, validated model ready to score: package + ONNX Runtime session.

    Construction validates that the graph loads, that its input and outputs match the manifest,
    and that a warm-up inference on a mid-grey image gives finite outputs of the right shape.
    """

    def __init__(
        self,
        package: ModelPackage,
        *,
        providers: Sequence[str] | None = None,
        intra_op_threads: int = 0,
        inter_op_threads: int = 1,
        allow_spinning: bool = False,
    ) -> None:
        ort = _onnxruntime()
        self.package = package
        self.manifest = package.manifest
        options = ort.SessionOptions()
        options.intra_op_num_threads = intra_op_threads
        options.inter_op_num_threads = inter_op_threads
        options.log_severity_level = 3
        if not allow_spinning:
            # Idle ONNX Runtime workers sleep instead of spinning: on a few cores shared with
            # acquisition, preprocessing and storage, spinning steals the CPU the pipeline needs
            # (measured: 30 fps 1920x1200 line p99 176 ms spinning, 33 ms not; benchmarks/bench_pipeline.py).
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(
                package.onnx_bytes, sess_options=options, providers=choose_providers(providers)
            )
        except Exception as error:  # onnxruntime raises several unrelated exception types
            raise PackageError(f"model {self.version}: ONNX Runtime cannot load the graph: {error}") from error
        self._check_signature()
        self.warm_up()

    @property
    def version(self) -> str:
        return self.manifest.version

    @property
    def providers(self) -> list[str]:
        return list(self.session.get_providers())

    def _check_signature(self) -> None:
        spec = self.manifest.input
        inputs = self.session.get_inputs()
        if len(inputs) != 1 or inputs[0].name != spec.name:
            raise PackageError(
                f"model {self.version}: graph inputs {[i.name for i in inputs]} do not match manifest input '{spec.name}'"
            )
        if inputs[0].type != "tensor(uint8)":
            raise PackageError(f"model {self.version}: input '{spec.name}' is {inputs[0].type}, manifest says uint8")
        shape = inputs[0].shape
        expected = [spec.height, spec.width, spec.channels]
        if len(shape) != 4 or [d if isinstance(d, int) else None for d in shape[1:]] != expected:
            raise PackageError(
                f"model {self.version}: input shape {shape} does not match manifest (N, {spec.height}, {spec.width}, {spec.channels})"
            )
        outputs = {o.name for o in self.session.get_outputs()}
        for name in (self.manifest.outputs.score, self.manifest.outputs.anomaly_map):
            if name not in outputs:
                raise PackageError(f"model {self.version}: graph has no output '{name}' (has {sorted(outputs)})")

    def warm_up(self) -> None:
        spec = self.manifest.input
        probe = np.full((1, spec.height, spec.width, spec.channels), 128, np.uint8)
        try:
            result = self.run(probe)
        except Exception as error:
            raise PackageError(f"model {self.version}: warm-up inference failed: {error}") from error
        if result.scores.shape != (1,) or result.maps.ndim != 3 or result.maps.shape[0] != 1:
            raise PackageError(
                f"model {self.version}: warm-up outputs have shapes score {result.scores.shape}, "
                f"anomaly_map {result.maps.shape}; expected (1,) and (1, h, w)"
            )
        if not (np.all(np.isfinite(result.scores)) and np.all(np.isfinite(result.maps))):
            raise PackageError(f"model {self.version}: warm-up inference gave non-finite outputs")

    def run(self, batch: np.ndarray) -> Scores:
        """Score a prepared (N, h, w, c) uint8 batch."""
        names = [self.manifest.outputs.score, self.manifest.outputs.anomaly_map]
        scores, maps = self.session.run(names, {self.manifest.input.name: batch})
        return Scores(scores=np.asarray(scores, np.float32).reshape(-1), maps=np.asarray(maps, np.float32))

    def score_images(self, images: Sequence[np.ndarray]) -> Scores:
        """Prepare and score raw images ((H, W) grey or (H, W, 3) RGB uint8)."""
        return self.run(prepare_batch(list(images), self.manifest.input))

