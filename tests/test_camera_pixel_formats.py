"""Every camera pixel format converts correctly, checked on synthetic buffers built here by
independent reference packers."""

from __future__ import annotations

import numpy as np
import pytest

from gaikan.camera.frame import PixelFormat
from gaikan.camera.pixel_formats import (
    CAMERA_PIXEL_FORMATS,
    convert_buffer,
    from_opencv_image,
    image_bytes,
    output_format,
)

RNG = np.random.default_rng(7)
H, W = 6, 8


def _random_rgb(height: int = H, width: int = W) -> np.ndarray:
    return RNG.integers(0, 256, size=(height, width, 3), dtype=np.uint8)


def _pack_bits_lsb_first(values: np.ndarray, bits: int) -> bytes:
    """PFNC 'p' packing: pixels as one little-endian bit stream, lowest bits first."""
    stream = 0
    for i, value in enumerate(values.reshape(-1).tolist()):
        stream |= int(value) << (i * bits)
    return stream.to_bytes(values.size * bits // 8, "little")


def _pack_mono12_gige(values: np.ndarray) -> bytes:
    """GigE Vision Mono12Packed: byte0 = p0[11:4], byte1 = p1[3:0] << 4 | p0[3:0], byte2 = p1[11:4]."""
    out = bytearray()
    flat = values.reshape(-1).tolist()
    for p0, p1 in zip(flat[0::2], flat[1::2], strict=True):
        out += bytes([p0 >> 4, ((p1 & 0xF) << 4) | (p0 & 0xF), p1 >> 4])
    return bytes(out)


def test_mono8_passes_through_as_an_owned_contiguous_array() -> None:
    image = RNG.integers(0, 256, size=(H, W), dtype=np.uint8)
    source = bytearray(image.tobytes())
    pixels, fmt = convert_buffer(source, W, H, "Mono8")
    assert fmt is PixelFormat.MONO8
    np.testing.assert_array_equal(pixels, image)
    assert pixels.flags.c_contiguous


@pytest.mark.parametrize("bits", [10, 12, 14, 16])
def test_unpacked_high_bit_depth_mono_keeps_the_eight_most_significant_bits(bits: int) -> None:
    values = RNG.integers(0, 2**bits, size=(H, W), dtype=np.uint16)
    pixels, fmt = convert_buffer(values.astype("<u2").tobytes(), W, H, f"Mono{bits}")
    assert fmt is PixelFormat.MONO8
    np.testing.assert_array_equal(pixels, (values >> (bits - 8)).astype(np.uint8))


@pytest.mark.parametrize("name,bits", [("Mono10p", 10), ("Mono12p", 12)])
def test_pfnc_packed_mono_unpacks(name: str, bits: int) -> None:
    values = RNG.integers(0, 2**bits, size=(H, W), dtype=np.uint16)
    pixels, fmt = convert_buffer(_pack_bits_lsb_first(values, bits), W, H, name)
    assert fmt is PixelFormat.MONO8
    np.testing.assert_array_equal(pixels, (values >> (bits - 8)).astype(np.uint8))


def test_gige_mono12packed_unpacks() -> None:
    values = RNG.integers(0, 4096, size=(H, W), dtype=np.uint16)
    pixels, _ = convert_buffer(_pack_mono12_gige(values), W, H, "Mono12Packed")
    np.testing.assert_array_equal(pixels, (values >> 4).astype(np.uint8))


@pytest.mark.parametrize(
    "name,pattern",
    [("BayerRG8", ("R", "G", "G", "B")), ("BayerBG8", ("B", "G", "G", "R")),
     ("BayerGR8", ("G", "R", "B", "G")), ("BayerGB8", ("G", "B", "R", "G"))],
)
def test_bayer_demosaics_a_uniform_colour_to_that_colour(name: str, pattern: tuple[str, str, str, str]) -> None:
    colour = {"R": 200, "G": 120, "B": 40}
    height, width = 16, 16
    mosaic = np.zeros((height, width), np.uint8)
    for (dy, dx), channel in zip([(0, 0), (0, 1), (1, 0), (1, 1)], pattern, strict=True):
        mosaic[dy::2, dx::2] = colour[channel]
    pixels, fmt = convert_buffer(mosaic.tobytes(), width, height, name)
    assert fmt is PixelFormat.RGB8
    assert pixels.shape == (height, width, 3)
    inner = pixels[2:-2, 2:-2].reshape(-1, 3)
    np.testing.assert_array_equal(inner, np.tile([200, 120, 40], (inner.shape[0], 1)))


@pytest.mark.parametrize("name,order", [("RGB8", [0, 1, 2]), ("BGR8", [2, 1, 0])])
def test_three_channel_formats_become_rgb(name: str, order: list[int]) -> None:
    rgb = _random_rgb()
    pixels, fmt = convert_buffer(rgb[:, :, order].tobytes(), W, H, name)
    assert fmt is PixelFormat.RGB8
    np.testing.assert_array_equal(pixels, rgb)


@pytest.mark.parametrize("name,order", [("RGBa8", [0, 1, 2]), ("BGRa8", [2, 1, 0])])
def test_four_channel_formats_drop_alpha_and_become_rgb(name: str, order: list[int]) -> None:
    rgb = _random_rgb()
    alpha = RNG.integers(0, 256, size=(H, W, 1), dtype=np.uint8)
    buffer = np.concatenate([rgb[:, :, order], alpha], axis=2).tobytes()
    pixels, fmt = convert_buffer(buffer, W, H, name)
    assert fmt is PixelFormat.RGB8
    np.testing.assert_array_equal(pixels, rgb)


@pytest.mark.parametrize("name,channels", [("Mono8", 1), ("RGB8", 3), ("Mono16", 2)])
def test_line_padding_is_skipped(name: str, channels: int) -> None:
    padding = 5
    line = W * channels
    rows = RNG.integers(0, 256, size=(H, line), dtype=np.uint8)
    padded = np.concatenate([rows, np.full((H, padding), 0xEE, np.uint8)], axis=1).tobytes()
    padded = padded[:-padding]  # the last line carries no padding
    with_padding, _ = convert_buffer(padded, W, H, name, padding_x=padding)
    without, _ = convert_buffer(rows.tobytes(), W, H, name)
    np.testing.assert_array_equal(with_padding, without)
    assert with_padding.flags.c_contiguous


def test_legacy_gige_names_are_aliases() -> None:
    rgb = _random_rgb()
    pixels, _ = convert_buffer(rgb.tobytes(), W, H, "RGB8Packed")
    np.testing.assert_array_equal(pixels, rgb)


def test_a_short_buffer_is_refused_with_the_sizes() -> None:
    with pytest.raises(ValueError, match=f"needs {H * W * 3} bytes"):
        convert_buffer(bytes(H * W * 3 - 1), W, H, "RGB8")


def test_an_unsupported_format_is_named() -> None:
    with pytest.raises(ValueError, match="YUV422_8"):
        convert_buffer(bytes(H * W * 2), W, H, "YUV422_8")


def test_every_listed_format_converts_and_reports_its_output_format() -> None:
    for name in sorted(CAMERA_PIXEL_FORMATS):
        width = 8
        pixels, fmt = convert_buffer(bytes(image_bytes(name, width, 4)), width, 4, name)
        assert fmt is output_format(name), name
        assert pixels.shape[:2] == (4, width), name


def test_opencv_images_convert_from_bgr() -> None:
    rgb = _random_rgb()
    pixels, fmt = from_opencv_image(np.ascontiguousarray(rgb[:, :, ::-1]))
    assert fmt is PixelFormat.RGB8
    np.testing.assert_array_equal(pixels, rgb)
