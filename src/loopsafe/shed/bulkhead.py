"""Bulkhead: a per-downstream concurrency cap that fails fast instead of queueing forever."""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any

import anyio

from loopsafe._errors import ConfigError
from loopsafe.shed._metrics import metrics


class BulkheadFull(Exception):
    """A bulkhead had no slot within its ``acquire_timeout``, or could tell it would not."""

    def __init__(self, name: str, limit: int, reason: str) -> None:
        super().__init__(f"bulkhead {name!r} is full ({limit} in use): {reason}")
        self.name = name
        self.limit = limit


class Bulkhead:
    """At most ``limit`` concurrent calls to one downstream; the rest wait at most
    ``acquire_timeout`` seconds, and give up at once when the wait would clearly be longer.

    ``async with payments: await client.post(...)``: on ``BulkheadFull``, answer 503 or use a
    fallback instead of piling up more calls on a struggling dependency.

    The expected wait is ``(waiting + 1) / limit`` times the mean time a slot is held (by
    Little's law: the time-integral of slots in use over the calls finished, recent calls
    weighing more); when that exceeds ``acquire_timeout`` the call fails without waiting.

    Args:
        name: the downstream's name, used in errors and in the metrics' ``name`` label.
        limit: concurrent calls allowed.
        acquire_timeout: longest wait for a slot in seconds (0: never wait).
        prometheus: True or a ``CollectorRegistry``: export metrics; None: when prometheus_client
            is installed; False: never.
    """

    def __init__(
        self, name: str, limit: int, acquire_timeout: float = 0.0, *, prometheus: Any = None
    ) -> None:
        if limit < 1:
            raise ConfigError(f"Bulkhead(limit=) must be at least 1, got {limit} ({name!r})")
        if acquire_timeout < 0:
            raise ConfigError(
                f"Bulkhead(acquire_timeout=) must be 0 or more, got {acquire_timeout} ({name!r})"
            )
        self.name = name
        self.limit = limit
        self.acquire_timeout = acquire_timeout
        self.in_use = 0
        self.waiting = 0
        self.acquired = 0
        self.rejected = 0
        self._area = 0.0  # integral of in_use over time, for the mean hold time
        self._finished = 0.0
        self._changed = time.monotonic()
        self._semaphore: anyio.Semaphore | None = None
        found = metrics(prometheus)
        self._metrics = (
            (
                found["bh_in_use"].labels(name),
                found["bh_waiting"].labels(name),
                found["bh_calls"].labels(name, "acquired"),
                found["bh_calls"].labels(name, "rejected"),
            )
            if found is not None
            else None
        )

    def statistics(self) -> dict[str, Any]:
        """``{name, limit, in_use, waiting, acquired, rejected, mean_hold_s}``."""
        return {
            "name": self.name,
            "limit": self.limit,
            "in_use": self.in_use,
            "waiting": self.waiting,
            "acquired": self.acquired,
            "rejected": self.rejected,
            "mean_hold_s": self.mean_hold_s,
        }

    @property
    def mean_hold_s(self) -> float:
        """Mean time a slot is held, over the recent calls (0 before any call finished)."""
        return self._area / self._finished if self._finished else 0.0

    def _account(self, delta: int) -> None:
        now = time.monotonic()
        self._area += self.in_use * (now - self._changed)
        self._changed = now
        self.in_use += delta
        if delta < 0:
            self._finished += 1
            if self._finished >= 200:  # halve the history: recent calls weigh more
                self._area /= 2
                self._finished /= 2

    def _reject(self, reason: str) -> BulkheadFull:
        self.rejected += 1
        if self._metrics is not None:
            self._metrics[3].inc()
        return BulkheadFull(self.name, self.limit, reason)

    async def __aenter__(self) -> None:
        if self._semaphore is None:  # created on the loop that uses it
            self._semaphore = anyio.Semaphore(self.limit)
        semaphore = self._semaphore
        if self.in_use >= self.limit:
            if self.acquire_timeout == 0:
                raise self._reject("no wait allowed")
            expected = (self.waiting + 1) / self.limit * self.mean_hold_s
            if expected > self.acquire_timeout:
                raise self._reject(
                    f"expected wait {expected:.3f} s > acquire_timeout {self.acquire_timeout} s"
                )
        self.waiting += 1
        if self._metrics is not None:
            self._metrics[1].inc()
        try:
            with anyio.fail_after(self.acquire_timeout or None):
                await semaphore.acquire()
        except TimeoutError:
            raise self._reject(f"no slot within {self.acquire_timeout} s") from None
        finally:
            self.waiting -= 1
            if self._metrics is not None:
                self._metrics[1].dec()
        self._account(1)
        self.acquired += 1
        if self._metrics is not None:
            self._metrics[0].inc()
            self._metrics[2].inc()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._semaphore is not None:
            self._semaphore.release()
        self._account(-1)
        if self._metrics is not None:
            self._metrics[0].dec()

    def __repr__(self) -> str:
        return f"Bulkhead({self.name!r}, limit={self.limit}, in_use={self.in_use})"
