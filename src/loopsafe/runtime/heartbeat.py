"""The loop side of stall detection: a self-rescheduling callback that stamps the time.

It only stores two floats per tick, so it costs the loop next to nothing; everything else (stack
sampling, aggregation, logging, metrics) happens in the watchdog thread.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from loopsafe.runtime.alarm import Alarm


class Heartbeat:
    """Ticks every ``interval`` seconds on the loop; ``lags`` holds how late each tick ran."""

    def __init__(self, loop: asyncio.AbstractEventLoop, interval: float) -> None:
        self.loop = loop
        self.interval = interval
        self.last_tick = time.monotonic()  # read by the watchdog thread
        self.lags: deque[tuple[float, float]] = deque(maxlen=4096)  # (tick time, lag)
        self._expected = self.last_tick + interval
        self._handle: asyncio.TimerHandle | None = None
        self._on_tick: list[Callable[[], None]] = []
        self.running = False
        # The watchdog's alarm, pushed back at every tick to fire ``alarm_after`` later.
        self.alarm: Alarm | None = None
        self.alarm_after = 0.0

    def start(self) -> None:
        self.running = True
        self.last_tick = time.monotonic()
        self._expected = self.last_tick + self.interval
        self._handle = self.loop.call_later(self.interval, self._tick)
        if self.alarm is not None:
            self.alarm.arm(self.alarm_after)

    def stop(self) -> None:
        self.running = False
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def every_tick(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the loop at each tick (cheap, loop-only work such as pool sampling)."""
        self._on_tick.append(fn)

    def _tick(self) -> None:
        now = time.monotonic()
        self.lags.append((now, max(0.0, now - self._expected)))
        self.last_tick = now
        alarm = self.alarm
        if alarm is not None:
            alarm.arm(self.alarm_after)
        for fn in self._on_tick:
            fn()
        if self.running:
            self._expected = now + self.interval
            self._handle = self.loop.call_later(self.interval, self._tick)
