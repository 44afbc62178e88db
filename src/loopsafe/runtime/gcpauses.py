"""Timing the garbage collector, so a stall it caused is blamed on it.

A full collection in a big process holds the GIL for tens of milliseconds: the loop is
stalled, and the watchdog cannot even run until it ends. Its stack samples then show whatever
the loop does next (often a finalizer the collection called), a line that did nothing wrong.
``gc.callbacks`` brackets every collection; the pauses long enough to matter are kept, and the
watchdog asks how much of a stall they fill. Young collections run every few hundred
allocations and take microseconds: two calls of a small function each, about one collection
per hundred requests of a typical route, so the cost per request is negligible.
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_monotonic = time.monotonic
KEEP_S = 0.001  # shorter collections cannot make up a stall's share worth naming
# What a long collection stopped: (route, request id, task name, request), as the watchdog's.
Owner = tuple[str | None, str | None, str | None, Any]


@dataclass(frozen=True, slots=True)
class GcShare:
    """The collector's part in one stall."""

    seconds: float  # time inside the stall spent collecting
    generation: int  # the oldest generation collected
    collections: int
    collected: int  # objects freed

    def fills(self, duration: float) -> bool:
        """The collector took at least half of ``duration``: it is the stall's culprit."""
        return self.seconds >= 0.5 * duration

    def to_json(self) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 6),
            "generation": self.generation,
            "collections": self.collections,
            "collected": self.collected,
        }


class GcPauses:
    """Records the collector's pauses of at least ``KEEP_S``: (ended, seconds, generation,
    objects freed), in ``time.monotonic()``. Collections run on any thread; all of them hold
    the GIL, so each one stops the loop."""

    def __init__(self) -> None:
        self.pauses: deque[tuple[float, float, int, int]] = deque(maxlen=256)
        self.owners: deque[tuple[float, Owner]] = deque(maxlen=16)  # (ended, what it stopped)
        self._began = 0.0
        self._owner_of: Callable[[], Owner | None] | None = None
        self._owner_after = float("inf")
        self.installed = False

    def name_requests(self, owner_of: Callable[[], Owner | None], after_s: float) -> None:
        """After a collection of at least ``after_s``, call ``owner_of`` (in the collector, on
        the thread that collected) and keep what it returns: the watchdog may only see such a
        collection once the request it stopped is gone."""
        self._owner_of, self._owner_after = owner_of, after_s

    def install(self) -> None:
        if not self.installed:
            gc.callbacks.append(self._on_gc)
            self.installed = True

    def remove(self) -> None:
        if self.installed:
            self.installed = False
            with contextlib.suppress(ValueError):  # someone cleared gc.callbacks
                gc.callbacks.remove(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        # Runs inside the collector: no allocation-heavy work, never raise.
        if phase == "start":
            self._began = _monotonic()
        elif self._began:
            now = _monotonic()
            seconds = now - self._began
            self._began = 0.0
            if seconds >= KEEP_S:
                self.pauses.append((now, seconds, info["generation"], info["collected"]))
            if seconds >= self._owner_after and self._owner_of is not None:
                try:
                    owner = self._owner_of()
                except Exception:  # never raise inside the collector
                    owner = None
                if owner is not None:
                    self.owners.append((now, owner))

    def owner_within(self, since: float, until: float) -> Owner | None:
        """What the last long collection that ended between ``since`` and ``until`` stopped."""
        found = None
        for ended, owner in list(self.owners):
            if since <= ended <= until:
                found = owner
        return found

    def within(self, since: float, until: float) -> GcShare | None:
        """The collections' time between ``since`` and ``until`` (monotonic), or None."""
        seconds = 0.0
        generation = -1
        collections = collected = 0
        for ended, length, gen, freed in list(self.pauses):
            overlap = min(ended, until) - max(ended - length, since)
            if overlap <= 0:
                continue
            seconds += overlap
            collections += 1
            collected += freed
            generation = max(generation, gen)
        if not collections:
            return None
        return GcShare(seconds, generation, collections, collected)
