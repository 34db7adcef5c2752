"""Pause Python's cyclic garbage collector around loops that only build acyclic values.

Building one shop's desired listings or plan at 100,000 SKUs allocates hundreds of thousands of
small objects and no reference cycles; the collector, triggered by the allocation count, walked
the whole heap (the parsed catalog included) again and again and took half of bench (d)'s time.
Reference counting still frees everything; cycles made meanwhile wait for the next collection.
Re-entrant and thread-safe: the collector is switched back on (if it was on) when the last
pause ends.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["gc_paused"]

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """Within the block the cyclic collector does not run; it is restored when the last pause ends."""
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
