"""Thread helpers."""

from __future__ import annotations

import logging
import os
import threading

log = logging.getLogger(__name__)


def lower_thread_priority(niceness: int) -> None:
    """Make the calling thread nicer (Linux schedules threads individually), so background work
    (shadow scoring, picture encoding) gives way to inspection. Best effort elsewhere."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
    except (OSError, AttributeError):
        log.info("could not lower the priority of thread %s", threading.current_thread().name)
