"""The Shedder: admission state of one worker (in flight, wait queue, counters, metrics).

Everything runs on the event loop, so plain ints and deques are enough; the watchdog thread only
reads them for ``snapshot()``. Admission is a few comparisons; only a request that must wait for
a slot awaits anything.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from loopsafe._errors import ConfigError
from loopsafe.shed._metrics import metrics
from loopsafe.shed.policies import Policy

# Priority classes, shed last to first. A class is admitted while in flight < limit * share, and
# the lag bound is scaled the same way: critical traffic keeps a reserve above the limit, low
# traffic gives way first.
PRIORITY_SHARES = {"critical": 1.25, "normal": 1.0, "low": 0.75}
REASONS = ("limit", "queue_full", "queue_timeout", "lag")
ADMITTED = None  # admit(): let it in
WAIT = "wait"  # admit(): wait for a slot


class Shedder:
    """Decides, counts and reports; the middleware asks it for every non-exempt request."""

    def __init__(self, policy: Policy, *, prometheus: Any = None) -> None:
        self.policy = policy
        self.in_flight = 0
        self.accepted = 0
        self.rejected = 0
        self.rejected_by_reason = dict.fromkeys(REASONS, 0)
        # Fixed keys, so the watchdog thread can copy them while the loop counts.
        self.by_priority = {p: {"accepted": 0, "rejected": 0} for p in PRIORITY_SHARES}
        self._waiters = {p: deque[asyncio.Future[bool]]() for p in PRIORITY_SHARES}
        self.queued = 0
        self._metrics = metrics(prometheus)
        self._children: dict[tuple[str, str, str], Any] = {}
        self._last_limit: float | None = None
        self.started = False

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, heartbeat: Any) -> None:
        if not self.started:
            self.started = True
            self.policy.start(heartbeat)
            self._set_limit()

    def stop(self) -> None:
        if self.started:
            self.started = False
            self.policy.stop()

    # -- admission (on the loop) -------------------------------------------------------------

    def admit(self, priority: str) -> str | None:
        """None when admitted (the slot is taken), ``WAIT`` to queue, else a rejection reason."""
        share = PRIORITY_SHARES[priority]
        policy = self.policy
        reason = policy.gate(share)
        if reason is None:
            limit = policy.limit()
            if limit is None or self.in_flight < limit * share:
                self.in_flight += 1
                self.accepted += 1
                self.by_priority[priority]["accepted"] += 1
                self._count("accepted", "", priority, 1)
                return ADMITTED
            if policy.queue:
                if self.queued < policy.queue:
                    return WAIT
                reason = "queue_full"
            else:
                reason = "limit"
        self.reject(priority, reason)
        return reason

    def reject(self, priority: str, reason: str) -> None:
        self.rejected += 1
        self.rejected_by_reason[reason] += 1
        self.by_priority[priority]["rejected"] += 1
        self._count("rejected", reason, priority, 0)

    async def wait(self, priority: str) -> str | None:
        """Wait for a slot for at most ``max_wait_s``: None once admitted, else the reason."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        waiters = self._waiters[priority]
        waiters.append(future)
        self.queued += 1
        self._gauge("queued", 1)
        try:
            async with asyncio.timeout(self.policy.max_wait_s):
                await future
        except TimeoutError:
            if not (future.done() and not future.cancelled()):
                self.reject(priority, "queue_timeout")
                return "queue_timeout"
        except BaseException:
            if future.done() and not future.cancelled():
                self.release(None)  # handed a slot while being cancelled: give it back
            raise
        finally:
            self.queued -= 1
            self._gauge("queued", -1)
            if not future.done():
                future.cancel()
                waiters.remove(future)
        # release() already counted the slot in in_flight when it handed it over.
        self.accepted += 1
        self.by_priority[priority]["accepted"] += 1
        self._count("accepted", "", priority, 0)
        return ADMITTED

    def release(self, latency: float | None, key: str = "") -> None:
        """A request admitted earlier is done (``latency``: to its response start, if any;
        ``key``: its route)."""
        if latency is not None:
            self.policy.observe(latency, self.in_flight, key)
        if self.queued and self._hand_over():
            return  # the slot goes straight to a waiter: in_flight is unchanged
        self.in_flight -= 1
        if self._metrics is not None:
            self._metrics["in_flight"].dec()
            self._set_limit()

    def _hand_over(self) -> bool:
        limit = self.policy.limit()
        for priority, share in PRIORITY_SHARES.items():  # highest class first
            waiters = self._waiters[priority]
            if waiters and (limit is None or self.in_flight - 1 < limit * share):
                future = waiters.popleft()
                future.set_result(True)
                return True
        return False

    # -- metrics and snapshot ----------------------------------------------------------------

    def _count(self, decision: str, reason: str, priority: str, in_flight: int) -> None:
        if self._metrics is None:
            return
        key = (decision, reason, priority)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self._metrics["decisions"].labels(*key)
        child.inc()
        if in_flight:
            self._metrics["in_flight"].inc()

    def _gauge(self, name: str, delta: int) -> None:
        if self._metrics is not None:
            self._metrics[name].inc(delta)

    def _set_limit(self) -> None:
        limit = self.policy.limit()
        if self._metrics is not None and limit is not None and limit != self._last_limit:
            self._last_limit = limit
            self._metrics["limit"].set(limit)

    def snapshot(self) -> dict[str, Any]:
        """The shedder's figures for ``Monitor.snapshot()["shed"]`` (see docs/shedding.md)."""
        limit = self.policy.limit()
        return {
            "policy": self.policy.name,
            "limit": round(limit, 2) if limit is not None else None,
            "in_flight": self.in_flight,
            "queued": self.queued,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "rejected_by_reason": dict(self.rejected_by_reason),
            "by_priority": {p: dict(c) for p, c in self.by_priority.items()},
        }


def priority_of(priorities: dict[str, str]) -> list[tuple[str, str]]:
    """Validated ``{path prefix: class}``, longest prefix first."""
    for prefix, klass in priorities.items():
        if klass not in PRIORITY_SHARES:
            raise ConfigError(
                f"unknown priority class {klass!r} for {prefix!r} (ShedMiddleware(priorities=)): "
                f"use one of {', '.join(PRIORITY_SHARES)}"
            )
    return sorted(priorities.items(), key=lambda item: -len(item[0]))
