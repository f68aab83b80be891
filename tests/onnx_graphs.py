"""Real ONNX model packages built with `onnx.helper`, so service and evaluation tests need no torch.

The "template difference" model scores an image by how far it departs from a reference image
(per-pixel mean and spread of good training images): anomaly_map = 5x5-smoothed mean over
channels of |x - mean| / (std + 4), score = max of the map. It is a genuine (if simple) good-only model.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from gaikan.models.package import InputSpec, ModelPackage, Normalisation, build_manifest
from gaikan.models.preprocess import prepare_batch
from gaikan.models.thresholds import Thresholds


def template_graph(
    reference: np.ndarray,
    spread: np.ndarray,
    *,
    nan_output: bool = False,
    flat_map: bool = False,
    input_name: str = "image",
    scale: float = 1.0,
    slow_gflop: float = 0.0,
    stall_gflop: float = 0.0,
    batch: int | str = "N",
) -> bytes:
    """ONNX bytes of the template-difference model for a (h, w, c) float reference image.
    `slow_gflop` adds busy work as many small matrix products, `stall_gflop` as a few large ones
    (2048², one long `session.run` with few nodes). `batch`: the batch axis (1: a fixed one)."""
    h, w, c = reference.shape
    nodes = [
        helper.make_node("Cast", [input_name], ["x"], to=TensorProto.FLOAT),
        helper.make_node("Sub", ["x", "reference"], ["diff"]),
        helper.make_node("Abs", ["diff"], ["absdiff"]),
        helper.make_node("Div", ["absdiff", "spread"], ["zdiff"]),
        helper.make_node("ReduceMean", ["zdiff", "axis_c"], ["raw_map"], keepdims=0),
        helper.make_node("Unsqueeze", ["raw_map", "axis_1"], ["raw_map4"]),
        helper.make_node("AveragePool", ["raw_map4"], ["smooth4"], kernel_shape=[5, 5], pads=[2, 2, 2, 2], count_include_pad=0),
        helper.make_node("Squeeze", ["smooth4", "axis_1"], ["smooth"]),
        helper.make_node("Mul", ["smooth", "scale"], ["map_base" if slow_gflop > 0 else "map0"]),
    ]
    if slow_gflop > 0:
        # Input-dependent busy work (not constant-foldable) that leaves the outputs unchanged:
        # the pixels as 64-wide rows, multiplied by the identity again and again, then * 0.
        rows_per_image = h * w * c // 64
        steps = max(1, int(slow_gflop * 1e9 / (2 * rows_per_image * 64 * 64)))
        nodes.append(helper.make_node("Reshape", ["x", "rows_shape"], ["busy0"]))
        nodes += [helper.make_node("MatMul", [f"busy{i}", "busy_w"], [f"busy{i + 1}"]) for i in range(steps)]
        nodes += [
            helper.make_node("ReduceMean", [f"busy{steps}"], ["busy_mean"], keepdims=0),
            helper.make_node("Mul", ["busy_mean", "zero"], ["busy_zero"]),
            helper.make_node("Add", ["map_base", "busy_zero"], ["map0"]),
        ]
        extra_initializers = [
            numpy_helper.from_array(np.array([-1, 64], np.int64), "rows_shape"),
            numpy_helper.from_array(np.eye(64, dtype=np.float32), "busy_w"),
            numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
        ]
    else:
        extra_initializers = []
    if stall_gflop > 0:
        nodes[-1].output[0] = "map_pre_stall"
        side = 2048
        steps = max(1, int(stall_gflop * 1e9 / (2 * side**3)))
        # An input-dependent side x side matrix (not constant-foldable), squared `steps` times, then * 0.
        nodes += [
            helper.make_node("Reshape", ["x", "stall_flat_shape"], ["stall_flat"]),
            helper.make_node("Slice", ["stall_flat", "stall_start", "stall_end", "axis_1"], ["stall_row"]),
            helper.make_node("Mul", ["stall_row", "stall_tiny"], ["stall_row_small"]),
            helper.make_node("Expand", ["stall_row_small", "stall_square"], ["stall0"]),
        ]
        nodes += [helper.make_node("MatMul", [f"stall{i}", f"stall{i}"], [f"stall{i + 1}"]) for i in range(steps)]
        nodes += [
            helper.make_node("ReduceMean", [f"stall{steps}"], ["stall_mean"], keepdims=0),
            helper.make_node("Mul", ["stall_mean", "stall_zero"], ["stall_zeroed"]),
            helper.make_node("Add", ["map_pre_stall", "stall_zeroed"], ["map0"]),
        ]
        extra_initializers += [
            numpy_helper.from_array(np.array([1, -1], np.int64), "stall_flat_shape"),
            numpy_helper.from_array(np.array([0], np.int64), "stall_start"),
            numpy_helper.from_array(np.array([side], np.int64), "stall_end"),
            numpy_helper.from_array(np.array(1e-6, np.float32), "stall_tiny"),
            numpy_helper.from_array(np.array([side, side], np.int64), "stall_square"),
            numpy_helper.from_array(np.array(0.0, np.float32), "stall_zero"),
        ]
    if nan_output:
        nodes.append(helper.make_node("Mul", ["map0", "nan"], ["map1"]))
    else:
        nodes.append(helper.make_node("Identity", ["map0"], ["map1"]))
    nodes.append(helper.make_node("ReduceMax", ["map1", "axes_hw"], ["score"], keepdims=0))
    if flat_map:
        nodes.append(helper.make_node("Reshape", ["map1", "flat_shape"], ["anomaly_map"]))
    else:
        nodes.append(helper.make_node("Identity", ["map1"], ["anomaly_map"]))
    initializers = [
        numpy_helper.from_array(reference.astype(np.float32), "reference"),
        numpy_helper.from_array(spread.astype(np.float32), "spread"),
        numpy_helper.from_array(np.array([3], np.int64), "axis_c"),
        numpy_helper.from_array(np.array([1], np.int64), "axis_1"),
        numpy_helper.from_array(np.array([1, 2], np.int64), "axes_hw"),
        numpy_helper.from_array(np.array(scale, np.float32), "scale"),
        numpy_helper.from_array(np.array(np.nan, np.float32), "nan"),
        numpy_helper.from_array(np.array([0, -1], np.int64), "flat_shape"),
        *extra_initializers,
    ]
    graph = helper.make_graph(
        nodes,
        "template_difference",
        [helper.make_tensor_value_info(input_name, TensorProto.UINT8, [batch, h, w, c])],
        [
            helper.make_tensor_value_info("score", TensorProto.FLOAT, [batch]),
            helper.make_tensor_value_info("anomaly_map", TensorProto.FLOAT, [batch, h, w] if not flat_map else [batch, h * w]),
        ],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    return model.SerializeToString()


def template_package(
    good_images: list[np.ndarray],
    *,
    version: str = "1",
    size: int = 64,
    colour: str = "rgb",
    reject: float = 3.0,
    review: float | None = None,
    **graph_options: object,
) -> ModelPackage:
    """A complete, valid package of the template-difference model fitted to `good_images`."""
    spec = InputSpec(
        height=size, width=size, colour=colour, normalisation=Normalisation(mean=[0.0], std=[1.0], in_graph=True)
    )
    stack = prepare_batch(good_images, spec).astype(np.float32)
    onnx_bytes = template_graph(stack.mean(axis=0), stack.std(axis=0) + 4.0, **graph_options)  # type: ignore[arg-type]
    manifest = build_manifest(
        onnx_bytes,
        name="template",
        version=version,
        architecture="template-difference",
        input=spec,
        thresholds=Thresholds(reject=reject, review=review),
    )
    return ModelPackage(manifest=manifest, onnx_bytes=onnx_bytes)
