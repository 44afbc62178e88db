"""The watchdog thread: notices the loop has stopped ticking, samples its stack while it is stuck,
and turns each stall into an event with its culprit, its route and its task."""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any

from loopsafe.runtime import stacks
from loopsafe.runtime.alarm import Alarm
from loopsafe.runtime.gcpauses import GcPauses, GcShare, Owner
from loopsafe.runtime.heartbeat import Heartbeat
from loopsafe.runtime.schedstat import Spell, ThreadClock

log = logging.getLogger("loopsafe.runtime")


@dataclass(slots=True)
class StallEvent:
    """One stall: how long, where (culprit and the app's own frame), and what it was serving."""

    id: int
    started_at: float  # unix time
    duration_s: float
    route: str | None
    request_id: str | None
    task: str | None
    culprit: stacks.Frame | None
    user_frame: stacks.Frame | None
    stack: tuple[stacks.Frame, ...] = ()
    samples: int = 0
    request: Any = None  # the RequestInfo while its route is still unknown; not serialised
    span: Any = None  # the request's OpenTelemetry span, when the OTel sink is on; not serialised
    gc: GcShare | None = None  # the garbage collector's part in it

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "started_at": self.started_at,
            "duration_s": round(self.duration_s, 6),
            "route": self.route,
            "request_id": self.request_id,
            "task": self.task,
            "culprit": self.culprit.to_json() if self.culprit else None,
            "user_frame": self.user_frame.to_json() if self.user_frame else None,
            "stack": [f.to_json() for f in self.stack],
            "samples": self.samples,
            "gc": self.gc.to_json() if self.gc else None,
        }

    @property
    def by_gc(self) -> bool:
        """The garbage collector held the loop for most of it."""
        return self.gc is not None and self.gc.fills(self.duration_s)


# Who was running: (route, request id, request info) for the running task and the loop thread's
# innermost frame (see attribution.py).
TaskInfo = Callable[
    [asyncio.Task[Any] | None, FrameType | None], tuple[str | None, str | None, Any]
]


class Watchdog(threading.Thread):
    """Watches the heartbeat; while the loop is late, samples the loop thread's stack.

    It sleeps on an alarm the heartbeat pushes back at every tick (see ``alarm``), so a healthy
    loop wakes it only every ``housekeeping`` seconds, to hand the new lags to the monitor.
    From the moment the loop is late until it ticks again, it wakes every ``poll`` seconds and
    samples the stack. Without an alarm (not Linux), it wakes every ``poll`` seconds throughout.
    """

    def __init__(
        self,
        heartbeat: Heartbeat,
        loop_thread_id: int,
        threshold: float,
        poll: float,
        task_info: TaskInfo,
        on_stall: Callable[[StallEvent], None],
        on_tick: Callable[[list[tuple[float, float]]], None],
        span_of: Callable[[Any], Any] | None = None,
        loop_native_id: int | None = None,
        on_host_pause: Callable[[str, float], None] | None = None,
        housekeeping: float = 0.25,
        use_alarm: bool = True,
        gc_pauses: GcPauses | None = None,
    ) -> None:
        super().__init__(name="loopsafe-watchdog", daemon=True)
        self.housekeeping = max(housekeeping, poll)
        # Sample once the loop is late by more than two heartbeats: short spells stay free.
        self.late = max(heartbeat.interval * 2, poll)
        self.alarm = Alarm.open() if use_alarm else None
        # Each push of the alarm is a timer system call, which on a virtual machine costs far
        # more than its instructions (measured here: 100 pushes/s took 1-2% of a busy worker's
        # CPU). So the loop pushes it at most every ``rearm`` (two fifths of the threshold),
        # and it fires ``late / 2`` after the next push was due: sampling still begins within
        # 0.6 thresholds of the last tick (30 ms of the default 50), well inside any stall.
        rearm = max(heartbeat.interval, threshold * 0.4)
        self.alarm_after = rearm + self.late / 2
        if self.alarm is not None:
            heartbeat.set_alarm(self.alarm, self.alarm_after, rearm)
            self.alarm.arm(self.alarm_after)  # the loop may block before its first tick
        self.loop_native_id = loop_native_id
        self.on_host_pause = on_host_pause
        self.span_of = span_of
        self.heartbeat = heartbeat
        self.loop_thread_id = loop_thread_id
        self.threshold = threshold
        self.poll = poll
        self.task_info = task_info
        self.on_stall = on_stall
        self.on_tick = on_tick
        self.gc_pauses = gc_pauses
        self._finished_at = 0.0  # monotonic time the last spell was finished
        self._stopping = threading.Event()
        self._next_id = 1
        self._failed = False

    def stop(self) -> None:
        self._stopping.set()
        if self.alarm is not None:
            self.alarm.arm(1e-9)  # wake it now

    def _sleep(self, busy: bool) -> tuple[bool, float]:
        """Wait for the next wake-up; (stopping, when it was due, in time.monotonic())."""
        alarm = self.alarm
        timeout = self.poll if busy or alarm is None else self.housekeeping
        due = time.monotonic() + timeout
        if alarm is None:
            return self._stopping.wait(timeout), due
        try:
            if alarm.wait(timeout):
                due = min(due, alarm.deadline)
        except OSError:  # never seen; if the timer breaks, polling still works
            log.exception("loopsafe watchdog: its alarm failed; polling instead")
            self.heartbeat.set_alarm(None)
            self.alarm = None
            alarm.close()
        return self._stopping.is_set(), due

    def run(self) -> None:
        busy_since: float | None = None  # the heartbeat time the current busy spell began after
        samples: list[tuple[stacks.Frame, ...]] = []
        owner: Owner = _NO_OWNER
        started_at = 0.0
        spell = 0.0  # the largest lag seen since the busy spell began
        sched = Spell()  # what the threads did during the spell
        lags = self.heartbeat.lags
        late = self.late
        clocks = _Clocks(self.loop_native_id)
        try:
            while True:
                stopping, due = self._sleep(busy_since is not None)
                if stopping:
                    break
                try:
                    # Only the ticks since the last wake-up: the cost does not grow with uptime.
                    new: list[tuple[float, float]] = []
                    while lags:
                        new.append(lags.popleft())
                    heartbeat = self.heartbeat
                    idle = heartbeat.idle  # asleep in select (iteration mode): not stuck
                    last = heartbeat.last_tick
                    now = time.monotonic()
                    step = clocks.step(now, due)
                    if busy_since is not None:
                        sched.add(step)
                        for tick, lag in new:
                            if tick > busy_since and lag > spell:
                                spell = lag
                    if not idle and now - last > late:
                        if busy_since != last:
                            if busy_since is not None:  # the loop ticked between two spells
                                self._finish(spell, busy_since, started_at, samples, owner, sched)
                            # The loop's clocks cover this thread's whole sleep, which may have
                            # begun long before the spell: count the spell's share of them.
                            inside = min(1.0, (now - last) / max(clocks.span, 1e-9))
                            busy_since, samples, spell = last, [], 0.0
                            sched = step.share(inside)
                            started_at = time.time() - (now - last)
                            owner = self._owner()
                        elif owner[3] is None:
                            # Not in a request when first seen (another thread held the GIL,
                            # or the loop was between requests): the request may start later.
                            owner = self._owner()
                        stack = stacks.sample(self.loop_thread_id)
                        if stack:
                            samples.append(stack)
                    elif busy_since is not None:
                        # The loop ticked again: was that spell a stall?
                        duration = spell or now - busy_since - heartbeat.slack
                        self._finish(duration, busy_since, started_at, samples, owner, sched)
                        busy_since, samples = None, []
                    else:
                        if not idle and self.alarm is not None:
                            # The loop pushes the alarm back only every so often, so it can
                            # go off before the loop is late: aim it at when it would be.
                            self.alarm.arm(max(1e-3, last + late - now))
                        # A spell no poll saw late (after a freeze, or a garbage collection,
                        # the loop may run on before this thread does): with no stack it cannot
                        # be blamed on a line, but it can be told to be the collector's or the
                        # host's. Lags of a spell already reported can arrive a wake-up late.
                        unseen = [(tick, lag) for tick, lag in new if tick > self._finished_at]
                        worst = max((lag for _, lag in unseen), default=0.0)
                        if worst >= self.threshold and self._unseen_gc(unseen, now):
                            pass  # reported as the collector's stalls
                        elif worst >= self.threshold and self.on_host_pause is not None:
                            if heartbeat.on_iterations:
                                # The loop overslept in select (it was idle: no alarm was set)
                                # or ran a spell this thread, alarmed, could not wake for: in
                                # both the process did not get to run for the whole lag.
                                step.watchdog_gap = max(step.watchdog_gap, worst)
                            elif self.alarm is not None:
                                # The alarm was due at most 'alarm_after' after the last tick
                                # (a lag counts from one interval after it) and this thread did
                                # not get to run before the loop ticked again: it was out at
                                # least that long.
                                out = worst - (self.alarm_after - heartbeat.interval)
                                step.watchdog_gap = max(step.watchdog_gap, out)
                            cause = step.host_caused(worst, self.threshold)
                            if cause is not None:
                                self.on_host_pause(cause, worst)
                    self.on_tick(new)
                except Exception:  # the monitor must never take the app down
                    if not self._failed:
                        self._failed = True
                        log.exception("loopsafe watchdog failed; stall detection continues")
        finally:
            clocks.close()
            if self.alarm is not None:
                self.heartbeat.set_alarm(None)
                self.alarm.close()

    def _finish(
        self,
        duration: float,
        since: float,
        started_at: float,
        samples: list[tuple[stacks.Frame, ...]],
        owner: Owner,
        sched: Spell,
    ) -> None:
        """Report a spell that began after the tick at ``since`` (monotonic) and lasted
        ``duration``: a stall, a host pause, or nothing."""
        self._finished_at = time.monotonic()
        cause = sched.host_caused(duration, self.threshold) if duration >= self.threshold else None
        if duration >= self.threshold and cause is None:
            share = None
            if self.gc_pauses is not None:
                end = since + duration + self.heartbeat.slack + _GC_MARGIN
                share = self.gc_pauses.within(since, end)
                if share is not None and share.fills(duration) and owner[3] is None:
                    # Seen only once the request had moved on: the collector noted it.
                    owner = self.gc_pauses.owner_within(since, end) or owner
            event = self._event(started_at, duration, samples, owner)
            event.gc = share
            if event.by_gc and share is not None:
                event.culprit = gc_frame(share.generation)
            self.on_stall(event)
            return
        if cause is not None and self.on_host_pause is not None:
            self.on_host_pause(cause, duration)
        if owner[3] is not None:
            owner[3].stalling = False

    def _unseen_gc(self, new: list[tuple[float, float]], now: float) -> bool:
        """Report the collector's stalls among lags no wake-up saw (a collection holds the GIL,
        so this thread cannot look while it runs; after it, the loop may reach ``select``
        before this thread gets the GIL)."""
        if self.gc_pauses is None:
            return False
        reported = False
        interval = self.heartbeat.interval
        for tick, lag in new:
            if lag < self.threshold:
                continue
            since = tick - lag - interval - _GC_MARGIN
            share = self.gc_pauses.within(since, tick)
            if share is None or not share.fills(lag):
                continue
            owner = self.gc_pauses.owner_within(since, tick) or _NO_OWNER
            event = self._event(time.time() - (now - tick) - lag, lag, [], owner)
            event.gc, event.culprit = share, gc_frame(share.generation)
            self.on_stall(event)
            reported = True
        return reported

    def _owner(self) -> Owner:
        try:
            task = asyncio.current_task(self.heartbeat.loop)
        except RuntimeError:
            task = None
        frame = sys._current_frames().get(self.loop_thread_id)
        route, request_id, info = self.task_info(task, frame)
        del frame  # a reference to the loop thread's frames keeps their locals alive
        if info is not None:
            info.stalling = True
            if self.span_of is not None and getattr(info, "span", None) is None:
                info.span = self.span_of(task)
        return route, request_id, task.get_name() if task is not None else None, info

    def _event(
        self,
        started_at: float,
        duration: float,
        samples: list[tuple[stacks.Frame, ...]],
        owner: Owner,
    ) -> StallEvent:
        culprit = user = None
        stack: tuple[stacks.Frame, ...] = ()
        if samples:
            # The innermost frame seen most often while blocked; its stack from the same sample.
            counts = Counter(s[-1] for s in samples)
            culprit = counts.most_common(1)[0][0]
            stack = next(s for s in samples if s[-1] == culprit)
            user = stacks.user_frame(stack)
        event = StallEvent(
            self._next_id,
            started_at,
            duration,
            owner[0],
            owner[1],
            owner[2],
            culprit,
            user,
            stack,
            len(samples),
            owner[3],
            getattr(owner[3], "span", None),
        )
        self._next_id += 1
        return event


def gc_frame(generation: int) -> stacks.Frame:
    """The culprit of a stall the garbage collector caused."""
    return stacks.Frame(GC_PATH, 0, f"garbage collection (generation {generation})")


GC_PATH = "<gc>"
_GC_MARGIN = 0.002  # the heartbeat's clock reads around a stall are this far from its edges
_NO_OWNER: Owner = (None, None, None, None)


class _Clocks:
    """Per wake-up: how late the watchdog itself woke, and what the loop thread and the
    watchdog did meanwhile (zeros where /proc is not there)."""

    def __init__(self, loop_native_id: int | None) -> None:
        self.loop = ThreadClock.open(loop_native_id) if loop_native_id else None
        self.own = ThreadClock.open(threading.get_native_id())
        self.loop_last = self.loop.read() if self.loop else None
        self.own_last = self.own.read() if self.own else None
        self.previous = time.monotonic()
        self.span = 0.0  # seconds the last step covers

    def step(self, now: float, due: float) -> Spell:
        step = Spell(watchdog_gap=max(0.0, now - due))
        self.span, self.previous = now - self.previous, now
        if self.loop is not None:
            current = self.loop.read()
            if current is not None and self.loop_last is not None:
                step.loop_cpu = current[0] - self.loop_last[0]
                step.loop_wait = current[1] - self.loop_last[1]
            self.loop_last = current
        if self.own is not None:
            current = self.own.read()
            if current is not None and self.own_last is not None:
                step.watchdog_wait = current[1] - self.own_last[1]
            self.own_last = current
        return step

    def close(self) -> None:
        for clock in (self.loop, self.own):
            if clock is not None:
                clock.close()
