"""The data behind the dashboard, built in a worker thread: the loop only sends the bytes.

One snapshot serves every open stream for ``max_age`` seconds, so ten open tabs cost what one
does. A stream sends deltas: the stall events and series points newer than its cursor, and the
small figures (routes, culprits, pool, shedding) whole. Stacks are left out of the stream and
fetched when a stall is opened.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
import time
from dataclasses import dataclass
from typing import Any

from loopsafe.runtime.monitor import Monitor
from loopsafe.runtime.watchdog import StallEvent

MAX_STALLS = 200  # stall events per message (the first one of a stream may have many)
MAX_CULPRITS = 50  # culprits per message: the page shows the top ones


@dataclass(frozen=True, slots=True)
class Cursor:
    """What a stream has sent: the last stall id and the last second of each series. It travels
    as the SSE event id, so a reconnecting browser resumes where it left off. It names the worker
    process: with several workers a reconnection may land on another one, which starts over."""

    stall: int = 0
    lag: int = 0
    pool: int = 0

    @classmethod
    def parse(cls, text: str | None) -> Cursor:
        try:
            pid, stall, lag, pool = (int(part) for part in (text or "").split("."))
        except ValueError:
            return cls()
        return cls(stall, lag, pool) if pid == os.getpid() else cls()

    def __str__(self) -> str:
        return f"{os.getpid()}.{self.stall}.{self.lag}.{self.pool}"


def dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


class Feed:
    """Snapshots of one monitor, shared by the dashboard's streams. Thread-safe."""

    def __init__(self, monitor: Monitor, max_age: float = 0.5) -> None:
        self.monitor = monitor
        self.max_age = max_age
        self._lock = threading.Lock()
        self._snapshot: dict[str, Any] | None = None
        self._taken = 0.0

    def snapshot(self) -> dict[str, Any]:
        """A snapshot at most ``max_age`` old, with the server's clock as ``now``."""
        with self._lock:
            now = time.monotonic()
            if self._snapshot is None or now - self._taken >= self.max_age:
                # The events come from events_after(), without their stacks: one is enough here.
                data = self.monitor.snapshot(max_events=1)
                data["now"] = time.time()
                self._snapshot, self._taken = data, now
            return self._snapshot

    def full(self) -> bytes:
        """``GET .../api``: the monitor's whole snapshot, fresh."""
        return dumps(self.monitor.snapshot())

    def stall(self, event_id: int) -> bytes | None:
        """``GET .../api/stalls/<id>``: one stall event with its stack."""
        event = self.monitor.aggregate.event(event_id)
        return dumps(event.to_json()) if event is not None else None

    def message(self, cursor: Cursor) -> tuple[bytes, Cursor]:
        """The next server-sent event for a stream at ``cursor``, and the stream's new cursor."""
        snap = self.snapshot()
        skip = ("stalls", "lag_series", "pool_series")
        data = {k: v for k, v in snap.items() if k not in skip}
        data["culprits"] = snap["culprits"][:MAX_CULPRITS]
        newer = self.monitor.aggregate.events_after(cursor.stall, MAX_STALLS)
        data["stalls"] = stalls = [_without_stack(e) for e in newer]
        # The current second's point may still grow: it is sent again until the next one starts.
        lag = [p for p in snap["lag_series"] if p[0] >= cursor.lag]
        pool = [p for p in snap["pool_series"] if p[0] >= cursor.pool]
        data["lag_series"], data["pool_series"] = lag, pool
        after = Cursor(
            stalls[-1]["id"] if stalls else cursor.stall,
            int(lag[-1][0]) if lag else cursor.lag,
            int(pool[-1][0]) if pool else cursor.pool,
        )
        body = b"id: %s\nevent: snapshot\ndata: %s\n\n" % (str(after).encode(), dumps(data))
        return body, after


def _without_stack(event: StallEvent) -> dict[str, Any]:
    slim = dataclasses.replace(event, stack=()).to_json()
    del slim["stack"]
    slim["stack_depth"] = len(event.stack)
    return slim
