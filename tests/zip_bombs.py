"""Hostile package zips, built in seconds: a deflate stream of zeros is the same few bytes over and
over, so a 2 MB file that inflates to gigabytes needs no gigabytes compressed."""

from __future__ import annotations

import struct
import zlib

_BLOCK = 16 * 1024 * 1024


def _deflated_zeros(blocks: int) -> tuple[bytes, int]:
    """A raw deflate stream of `blocks` × 16 MiB of zeros, and its CRC-32."""
    chunk = bytes(_BLOCK)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)  # history reset: repeats exactly
    tail = compressor.flush()
    crc = 0
    for _ in range(blocks):
        crc = zlib.crc32(chunk, crc)
    return block * blocks + tail, crc


def _zip(members: list[tuple[str, bytes, int, int, int]]) -> bytes:
    """Members as (name, data, method, crc, declared uncompressed size), written by hand so the
    declared size can lie."""
    out, central = bytearray(), bytearray()
    for name, data, method, crc, size in members:
        encoded = name.encode()
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21, crc, len(data), size, len(encoded), 0)
        out += encoded + data
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0x21, crc, len(data), size, len(encoded), 0, 0, 0, 0, 0, offset
        )
        central += encoded
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(out), 0)
    return bytes(out + central + end)


def _stored(name: str, data: bytes) -> tuple[str, bytes, int, int, int]:
    return name, data, 0, zlib.crc32(data), len(data)


def inflating_bomb(gib: float = 2.0, *, declared_size: int | None = None) -> bytes:
    """`model.onnx` inflates to `gib` GiB of zeros; the headers say so unless `declared_size` lies."""
    blocks = int(gib * 1024**3) // _BLOCK
    data, crc = _deflated_zeros(blocks)
    size = blocks * _BLOCK if declared_size is None else declared_size
    return _zip([_stored("manifest.json", b"{}"), ("model.onnx", data, 8, crc, size)])


def many_members(count: int) -> bytes:
    return _zip([_stored("manifest.json", b"{}"), _stored("model.onnx", b"x")] + [_stored(f"f{i}", b"") for i in range(count)])
