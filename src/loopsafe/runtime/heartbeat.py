"""The loop side of stall detection: it stamps the time the loop last proved it was free.

Two ways, one interface (``last_tick``, ``idle``, ``lags``, ``stuck_for``):

- **Iterations** (asyncio's selector loops): the selector's ``select`` is wrapped, so each loop
  iteration stamps when it began and how long the one before it ran. An idle loop, asleep in
  ``select``, is not woken at all; a stall's duration is the stalled iteration's length, not
  a timer's lateness; under load the loop iterates a few hundred times a second (it handles
  every ready socket in one iteration), so the wrapper costs less than a timer.
- **Timer** (uvloop and any loop without a Python selector): a callback re-schedules itself
  every ``interval`` and stores how late it ran. It wakes an idle loop ``1 / interval`` times
  a second.

Either way the loop only stores a few floats; everything else (stack sampling, aggregation,
logging, metrics) happens in the watchdog thread.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from loopsafe.runtime.alarm import Alarm

_monotonic = time.monotonic
log = logging.getLogger("loopsafe.runtime")


def _selector_of(loop: asyncio.AbstractEventLoop) -> Any:
    """The loop's selector when its iterations can be watched from Python, else None."""
    if not isinstance(loop, asyncio.BaseEventLoop):
        return None  # uvloop and other loops in C
    selector = getattr(loop, "_selector", None)
    return selector if callable(getattr(selector, "select", None)) else None


class Heartbeat:
    """Proves the loop is free; ``lags`` holds (when, lag): per ``interval`` of activity, how
    long the loop could not run a callback (the longest iteration, or the timer's lateness)."""

    use_iterations = True  # False: always the timer (tests run both ways)

    def __init__(self, loop: asyncio.AbstractEventLoop, interval: float) -> None:
        self.loop = loop
        self.interval = interval
        self.last_tick = _monotonic()  # read by the watchdog thread
        self.idle = False  # the loop is asleep in select: not stuck, however old last_tick is
        self.lags: deque[tuple[float, float]] = deque(maxlen=4096)
        self._expected = self.last_tick + interval
        self._handle: asyncio.TimerHandle | None = None
        self._on_tick: list[Callable[[], None]] = []
        self.running = False
        # The watchdog's alarm (``set_alarm``), pushed back at most every ``rearm_every``
        # seconds to fire ``alarm_after`` after the loop last pushed it.
        self.alarm_after = 0.0
        self.rearm_every = interval
        self._push: Callable[[float], None] | None = None
        self._selector: Any = None
        self._previous_select: Any = None  # what ``select`` was before the wrapper
        self._wrapper: Callable[..., Any] | None = None
        self._worst = 0.0  # the longest iteration since the last sample
        self._slept = 0.0
        # Seconds the loop slept in select between the last two samples (iteration mode; the
        # timer cannot tell): readers of ``lags`` weigh an idle stretch as zero lag with it.
        self.slept = 0.0
        self._sample_at = 0.0
        self._rearm_at = 0.0

    @property
    def on_iterations(self) -> bool:
        """True when the loop's iterations are watched (else the timer ticks)."""
        return self._wrapper is not None

    @property
    def slack(self) -> float:
        """How old ``last_tick`` gets on a free loop: one interval for the timer, 0 for
        iterations (a free loop is asleep in ``select``, ``idle``)."""
        return 0.0 if self._wrapper is not None else self.interval

    def set_alarm(
        self, alarm: Alarm | None, after: float = 0.0, rearm_every: float | None = None
    ) -> None:
        """Push ``alarm`` back to fire ``after`` seconds on, at most every ``rearm_every``
        seconds (each push is a system call); None: no alarm."""
        self.alarm_after = after
        self.rearm_every = self.interval if rearm_every is None else rearm_every
        self._push = alarm.pusher(after) if alarm is not None else None

    def start(self) -> None:
        self.running = True
        self.idle = False
        self.last_tick = now = _monotonic()
        self._expected = now + self.interval
        selector = _selector_of(self.loop) if self.use_iterations else None
        if selector is not None:
            self._wrap(selector, now)
        else:
            self._handle = self.loop.call_later(self.interval, self._tick)
        if self._push is not None:
            self._push(now)

    def stop(self) -> None:
        self.running = False
        self.idle = False
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        selector, wrapper = self._selector, self._wrapper
        if selector is not None and wrapper is not None:
            # Only unwrap when the wrapper is still on top: something that wrapped it since
            # keeps calling it, and it passes straight through once not running.
            if selector.__dict__.get("select") is wrapper:
                if self._previous_select is None:
                    del selector.select
                else:
                    selector.select = self._previous_select
            self._selector = self._wrapper = self._previous_select = None

    def every_tick(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the loop at each lag sample (cheap, loop-only work such as pool
        sampling): every ``interval`` while the loop is active."""
        self._on_tick.append(fn)

    def stuck_for(self) -> float:
        """Seconds the loop has been unable to run a callback, beyond the normal: ~0 when free."""
        if not self.running or self.idle:
            return 0.0
        return max(0.0, _monotonic() - self.last_tick - self.slack)

    # -- timer mode --------------------------------------------------------------------------

    def _tick(self) -> None:
        now = _monotonic()
        self.lags.append((now, max(0.0, now - self._expected)))
        self.last_tick = now
        push = self._push
        if push is not None and now >= self._rearm_at:
            # Half an interval early: a tick that comes a little early still pushes it.
            self._rearm_at = now + self.rearm_every - self.interval / 2
            push(now)
        self._run_on_tick()
        if self.running:
            self._expected = now + self.interval
            self._handle = self.loop.call_later(self.interval, self._tick)

    # -- iteration mode ----------------------------------------------------------------------

    def _wrap(self, selector: Any, now: float) -> None:
        inner = selector.select
        self._previous_select = selector.__dict__.get("select")
        self._sample_at = now + self.interval
        self._rearm_at = now + self.rearm_every

        def select(timeout: float | None = None) -> Any:
            if not self.running:
                return inner(timeout)
            began = _monotonic()
            ran = began - self.last_tick  # the iteration that just ended
            if ran > self._worst:
                self._worst = ran
            if began >= self._sample_at:
                self._sample(began)
            self.idle = True
            try:
                return inner(timeout)
            finally:
                now = _monotonic()
                self.last_tick = now
                self.idle = False
                self._slept += now - began
                if timeout is not None and now - began - timeout > self._worst:
                    # Woken late (a frozen process, a starved thread): due timers ran late.
                    self._worst = now - began - timeout
                if now >= self._rearm_at:
                    self._rearm_at = now + self.rearm_every
                    push = self._push
                    if push is not None:
                        push(now)

        selector.select = select
        self._selector, self._wrapper = selector, select

    def _sample(self, now: float) -> None:
        self.lags.append((now, self._worst))
        self._worst = 0.0
        self.slept, self._slept = self._slept, 0.0
        self._sample_at = now + self.interval
        self._run_on_tick()

    def _run_on_tick(self) -> None:
        # Inside select, an exception would stop the app's loop: drop the function instead.
        for fn in list(self._on_tick):
            try:
                fn()
            except Exception:
                log.exception("loopsafe: %r failed on the loop; it is no longer called", fn)
                self._on_tick.remove(fn)
