"""Arrays handed to another process through one `multiprocessing.shared_memory` block: the sender
copies them in and passes the block's name and the arrays' places (small, picklable); the
receiver views them in place and frees the block (`received`)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing import shared_memory

import numpy as np

BLOCK_PREFIX = "gaikan-"


def block_prefix() -> str:
    """Names of the blocks this process creates start with this (in /dev/shm on Linux): whose they are."""
    return f"{BLOCK_PREFIX}{os.getpid()}-"


@dataclass(frozen=True, slots=True)
class ArrayRef:
    shape: tuple[int, ...]
    dtype: str
    offset: int

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape)) * np.dtype(self.dtype).itemsize


def to_shared(arrays: Sequence[np.ndarray]) -> tuple[str, list[ArrayRef]]:
    """Copy `arrays` into a fresh block; it lives on (closed here) until the receiver frees it."""
    contiguous = [np.ascontiguousarray(array) for array in arrays]
    refs, offset = [], 0
    for array in contiguous:
        refs.append(ArrayRef(tuple(array.shape), array.dtype.str, offset))
        offset += array.nbytes
    block = shared_memory.SharedMemory(name=block_prefix() + secrets.token_hex(6), create=True, size=max(offset, 1))
    try:
        for array, ref in zip(contiguous, refs, strict=True):
            np.ndarray(ref.shape, ref.dtype, buffer=block.buf, offset=ref.offset)[...] = array
    finally:
        block.close()
    return block.name, refs


def free(name: str) -> None:
    """Free a block nobody will read (the sender could not hand it over)."""
    block = shared_memory.SharedMemory(name=name)
    block.close()
    block.unlink()


@contextmanager
def received(name: str, refs: Sequence[ArrayRef | None]) -> Iterator[list[np.ndarray | None]]:
    """Views of the arrays in place (no copy), valid inside the block; the block is freed after.
    The caller must not keep a view beyond it."""
    block = shared_memory.SharedMemory(name=name)
    try:
        views: list[np.ndarray | None] = [
            None if ref is None else np.ndarray(ref.shape, ref.dtype, buffer=block.buf, offset=ref.offset) for ref in refs
        ]
        try:
            yield views
        finally:
            views.clear()
    finally:
        try:
            block.close()
        finally:
            block.unlink()
