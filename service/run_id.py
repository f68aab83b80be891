"""The run id: which start of the service acquired a frame (frame numbers restart at 0 with each run)."""

from __future__ import annotations

import string
import time

_DIGITS = string.digits + string.ascii_lowercase


def new_run_id(started_at: float | None = None) -> str:
    """The start time in milliseconds since the epoch, in base 36 (8 characters until 2059):
    different for every start, and later starts sort after earlier ones (same length)."""
    value = int((time.time() if started_at is None else started_at) * 1000)
    digits = []
    while value:
        value, digit = divmod(value, 36)
        digits.append(_DIGITS[digit])
    return "".join(reversed(digits)) or "0"
