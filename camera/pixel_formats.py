"""Conversion of camera buffers into the two frame formats (Mono8, RGB8).

`convert_buffer` turns the raw bytes of one GenICam image (any format in `CAMERA_PIXEL_FORMATS`,
named as the camera's PixelFormat node names them, PFNC) into a frame array: mono formats become
Mono8 (higher bit depths keep their 8 most significant bits), Bayer mosaics are demosaiced
(bilinear) and every colour format becomes RGB8.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from gaikan.camera.frame import PixelFormat

# Bytes per pixel of the unpacked formats, and bits per pixel of the packed ones.
_UNPACKED_BYTES = {
    "Mono8": 1,
    "Mono10": 2,
    "Mono12": 2,
    "Mono14": 2,
    "Mono16": 2,
    "BayerRG8": 1,
    "BayerBG8": 1,
    "BayerGR8": 1,
    "BayerGB8": 1,
    "RGB8": 3,
    "BGR8": 3,
    "RGBa8": 4,
    "BGRa8": 4,
}
_PACKED_BITS = {"Mono10p": 10, "Mono12p": 12, "Mono12Packed": 12}
_SIGNIFICANT_BITS = {"Mono10": 10, "Mono12": 12, "Mono14": 14, "Mono16": 16}

# GenICam names the Bayer pattern by its first two pixels (BayerRG = R G / G B); OpenCV names it
# by the second row's second and third pixels, so the letters swap.
_BAYER_TO_RGB = {
    "BayerRG8": cv2.COLOR_BayerBG2RGB,
    "BayerBG8": cv2.COLOR_BayerRG2RGB,
    "BayerGR8": cv2.COLOR_BayerGB2RGB,
    "BayerGB8": cv2.COLOR_BayerGR2RGB,
}

# Older GigE Vision names of the same layouts.
ALIASES = {
    "Mono8Signed": "Mono8",
    "RGB8Packed": "RGB8",
    "BGR8Packed": "BGR8",
    "RGBA8Packed": "RGBa8",
    "BGRA8Packed": "BGRa8",
    "BayerRG8Packed": "BayerRG8",
}

CAMERA_PIXEL_FORMATS: frozenset[str] = frozenset(_UNPACKED_BYTES) | frozenset(_PACKED_BITS) | frozenset(ALIASES)


def canonical_format(pixel_format: str) -> str:
    """The PFNC name of a camera pixel format (resolving older aliases); ValueError if unsupported."""
    name = ALIASES.get(pixel_format, pixel_format)
    if name not in _UNPACKED_BYTES and name not in _PACKED_BITS:
        supported = ", ".join(sorted(CAMERA_PIXEL_FORMATS))
        raise ValueError(f"unsupported camera pixel format {pixel_format!r}; supported: {supported}")
    return name


def output_format(pixel_format: str) -> PixelFormat:
    """The frame format a camera pixel format converts to."""
    name = canonical_format(pixel_format)
    return PixelFormat.MONO8 if name.startswith("Mono") else PixelFormat.RGB8


def line_bytes(pixel_format: str, width: int) -> int:
    """Bytes of image data in one line (without padding)."""
    name = canonical_format(pixel_format)
    if name in _PACKED_BITS:
        return (width * _PACKED_BITS[name] + 7) // 8
    return width * _UNPACKED_BYTES[name]


def image_bytes(pixel_format: str, width: int, height: int, padding_x: int = 0) -> int:
    """Bytes an image occupies in a camera buffer (the last line needs no padding)."""
    return (line_bytes(pixel_format, width) + padding_x) * (height - 1) + line_bytes(pixel_format, width)


def _lines(data: np.ndarray, width_bytes: int, height: int, padding_x: int) -> np.ndarray:
    """(height, width_bytes) uint8 view of the image lines in `data`, skipping line padding."""
    stride = width_bytes + padding_x
    return np.lib.stride_tricks.as_strided(
        data, shape=(height, width_bytes), strides=(stride, 1), writeable=bool(data.flags.writeable)
    )


def _unpack_mono10p(packed: np.ndarray) -> np.ndarray:
    """Mono10p (4 pixels in 5 bytes, LSB first) → the 8 most significant bits of each pixel."""
    b = packed.reshape(-1, 5).astype(np.uint16)
    out = np.empty((b.shape[0], 4), np.uint8)
    out[:, 0] = (b[:, 0] >> 2) | ((b[:, 1] & 0x03) << 6)
    out[:, 1] = (b[:, 1] >> 4) | ((b[:, 2] & 0x0F) << 4)
    out[:, 2] = (b[:, 2] >> 6) | ((b[:, 3] & 0x3F) << 2)
    out[:, 3] = b[:, 4]
    return out.reshape(-1)


def _unpack_mono12p(packed: np.ndarray) -> np.ndarray:
    """Mono12p (2 pixels in 3 bytes, LSB first) → the 8 most significant bits of each pixel."""
    b = packed.reshape(-1, 3)
    out = np.empty((b.shape[0], 2), np.uint8)
    out[:, 0] = (b[:, 0] >> 4) | ((b[:, 1] & 0x0F) << 4)
    out[:, 1] = b[:, 2]
    return out.reshape(-1)


def _unpack_mono12packed(packed: np.ndarray) -> np.ndarray:
    """GigE Vision Mono12Packed (byte 0 and byte 2 hold the high 8 bits) → 8 bits per pixel."""
    b = packed.reshape(-1, 3)
    return np.ascontiguousarray(b[:, 0::2]).reshape(-1)


_UNPACKERS: dict[str, tuple[int, int, Callable[[np.ndarray], np.ndarray]]] = {
    # name: (pixels per group, bytes per group, unpacker)
    "Mono10p": (4, 5, _unpack_mono10p),
    "Mono12p": (2, 3, _unpack_mono12p),
    "Mono12Packed": (2, 3, _unpack_mono12packed),
}


def convert_buffer(
    data: np.ndarray | bytes | bytearray | memoryview,
    width: int,
    height: int,
    pixel_format: str,
    padding_x: int = 0,
) -> tuple[np.ndarray, PixelFormat]:
    """Convert one camera image to a C-contiguous Mono8 (H, W) or RGB8 (H, W, 3) array.

    `data` holds the image bytes from the first pixel on (lines of `line_bytes` plus `padding_x`
    bytes each). The result may share memory with `data` when no conversion is needed, so pass
    memory you own, never a driver buffer that will be re-queued.
    """
    name = canonical_format(pixel_format)
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    raw = np.frombuffer(data, dtype=np.uint8) if not isinstance(data, np.ndarray) else data.reshape(-1)
    if raw.dtype != np.uint8:
        raw = raw.view(np.uint8)
    needed = image_bytes(name, width, height, padding_x)
    if raw.size < needed:
        raise ValueError(
            f"{name} {width}x{height} (padding {padding_x}) needs {needed} bytes, the buffer holds {raw.size}"
        )

    if name in _PACKED_BITS:
        pixels_per_group, bytes_per_group, unpack = _UNPACKERS[name]
        if padding_x or (width * height) % pixels_per_group:
            raise ValueError(f"{name} needs unpadded lines and a pixel count divisible by {pixels_per_group}")
        packed = raw[: width * height // pixels_per_group * bytes_per_group]
        return unpack(packed).reshape(height, width), PixelFormat.MONO8

    lines = _lines(raw, line_bytes(name, width), height, padding_x)
    if name in _SIGNIFICANT_BITS:
        values = np.ascontiguousarray(lines).view("<u2")
        shifted = values >> (_SIGNIFICANT_BITS[name] - 8)
        return np.minimum(shifted, 255).astype(np.uint8), PixelFormat.MONO8
    if name == "Mono8":
        return np.ascontiguousarray(lines), PixelFormat.MONO8
    if name in _BAYER_TO_RGB:
        return cv2.cvtColor(np.ascontiguousarray(lines), _BAYER_TO_RGB[name]), PixelFormat.RGB8
    channels = _UNPACKED_BYTES[name]
    image = np.ascontiguousarray(lines).reshape(height, width, channels)
    if name == "RGB8":
        return image, PixelFormat.RGB8
    code = {"BGR8": cv2.COLOR_BGR2RGB, "RGBa8": cv2.COLOR_RGBA2RGB, "BGRa8": cv2.COLOR_BGRA2RGB}[name]
    return cv2.cvtColor(image, code), PixelFormat.RGB8


def from_opencv_image(image: np.ndarray) -> tuple[np.ndarray, PixelFormat]:
    """Convert an image as OpenCV reads it (grey, BGR or BGRA; 8 or 16 bit) to an owned frame array."""
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise ValueError(f"unsupported image dtype {image.dtype}")
    if image.ndim == 2:
        return np.ascontiguousarray(image), PixelFormat.MONO8
    if image.ndim == 3 and image.shape[2] == 1:
        return np.ascontiguousarray(image[:, :, 0]), PixelFormat.MONO8
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB), PixelFormat.RGB8
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB), PixelFormat.RGB8
    raise ValueError(f"unsupported image shape {image.shape}")


def to_rgb(pixels: np.ndarray, pixel_format: PixelFormat) -> np.ndarray:
    """Frame pixels as (H, W, 3) RGB uint8."""
    if pixel_format is PixelFormat.RGB8:
        return pixels
    return cv2.cvtColor(pixels, cv2.COLOR_GRAY2RGB)


def to_mono(pixels: np.ndarray, pixel_format: PixelFormat) -> np.ndarray:
    """Frame pixels as (H, W) grey uint8."""
    if pixel_format is PixelFormat.MONO8:
        return pixels
    return cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)
