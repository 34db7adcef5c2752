"""Python's cyclic garbage collector, kept out of the middle of runs.

A full (oldest-generation) collection stops every thread of the process while it walks every
tracked object. While a 20,000-product run holds its catalog, desired and observed listings
(millions of objects), one such pass measured 0.3-0.9 s: the engine's own loop thread does not
help then, `/healthz` waits just as long. So while the daemon serves, automatic full collections
are off (young generations are still collected as usual; most garbage is freed by reference
counting anyway), the objects alive at start are frozen out of the collector's way, and the
worker asks for a full collection when no shop is running (the heap is small again then) or,
should runs never pause, at most every `max_interval_s` regardless.

Reference-counted: several daemons in one process (tests) share the setting; the last to stop
restores the collector as it was.
"""

from __future__ import annotations

import gc
import threading
import time

__all__ = ["Collector"]

NEVER = 1 << 30  # an oldest-generation threshold no count reaches

_lock = threading.Lock()
_users = 0
_saved: tuple[int, int, int] | None = None


class Collector:
    """Full collections at quiet moments only, while installed (`install` ... `uninstall`)."""

    def __init__(self, *, max_interval_s: float = 600.0) -> None:
        self.max_interval_s = max_interval_s
        self._last = time.monotonic()
        self._installed = False
        self._dirty = False

    def install(self) -> None:
        """Turn automatic full collections off (for the whole process) and freeze what is alive now."""
        global _users, _saved
        with _lock:
            if self._installed:
                return
            if _users == 0:
                _saved = gc.get_threshold()
                gc.collect()
                gc.freeze()
                young, middle, _old = _saved
                gc.set_threshold(young, middle, NEVER)
            _users += 1
            self._installed = True
        self._last = time.monotonic()

    def uninstall(self) -> None:
        """Undo `install`; the last user restores the thresholds and unfreezes."""
        global _users, _saved
        with _lock:
            if not self._installed:
                return
            self._installed = False
            _users -= 1
            if _users == 0 and _saved is not None:
                gc.set_threshold(*_saved)
                gc.unfreeze()
                _saved = None

    def ran(self) -> None:
        """A run ended: what it left behind is collected at the next quiet moment."""
        self._dirty = True

    def tick(self, *, idle: bool) -> float | None:
        """Collect fully when idle after a run, or when the last full collection is `max_interval_s` old.

        The seconds the collection took, or None when there was none.
        """
        if not self._installed:
            return None
        if (idle and self._dirty) or time.monotonic() - self._last >= self.max_interval_s:
            return self._collect()
        return None

    def _collect(self) -> float:
        started = time.monotonic()
        gc.collect()
        self._dirty = False
        self._last = time.monotonic()
        return self._last - started
