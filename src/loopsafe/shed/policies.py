"""Shedding policies: when to turn a request away.

A policy answers two questions on the loop, in a few attribute reads: the concurrency limit now
(``limit()``, None for no limit) and whether something other than concurrency says no
(``gate(share)``, a reason or None). Finished requests feed their latency back (``observe``).
``Static(...) | Lag(...)`` (or a list) combines policies: a request must pass all of them.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterable
from typing import Any

from loopsafe._errors import ConfigError

POLICY_NAMES = ("static", "adaptive", "lag")


class Policy:
    """Base class of the shedding policies (``Static``, ``Adaptive``, ``Lag`` and combinations)."""

    name = "policy"
    queue = 0  # requests that may wait for a slot (Static only)
    max_wait_s = 0.0

    def limit(self) -> float | None:
        """The concurrency limit now (None: this policy does not limit concurrency)."""
        return None

    def gate(self, share: float) -> str | None:
        """A reason to reject regardless of concurrency (``"lag"``), or None to let it through.
        ``share`` is the priority class's weight: 1 for normal, more for critical traffic."""
        return None

    def observe(self, latency: float, in_flight: int, key: str = "") -> None:
        """An accepted request of route ``key`` got its response after ``latency`` seconds;
        ``in_flight`` requests (itself included) were being served when it finished."""

    def start(self, heartbeat: Any) -> None:
        """Called on the loop at startup; ``heartbeat`` is the monitor's, or None."""

    def stop(self) -> None:
        """Called at shutdown: stop any loop callback the policy started."""

    def parts(self) -> tuple[Policy, ...]:
        return (self,)

    def __or__(self, other: Policy) -> Policy:
        return Combined((self, other))


class Static(Policy):
    """At most ``max_in_flight`` requests at once; up to ``queue`` more wait for a slot, each for
    at most ``max_wait_s`` seconds (then 503). The classic semaphore-and-503, with a bounded queue.

    Args:
        max_in_flight: concurrent requests served (default 100).
        queue: requests allowed to wait for a slot when all are taken (default 0: reject at once).
        max_wait_s: longest wait in the queue (default 1.0).
    """

    name = "static"

    def __init__(self, max_in_flight: int = 100, queue: int = 0, max_wait_s: float = 1.0) -> None:
        if max_in_flight < 1:
            raise ConfigError(f"Static(max_in_flight=) must be at least 1, got {max_in_flight}")
        if queue < 0:
            raise ConfigError(f"Static(queue=) must be 0 or more, got {queue}")
        if not 0 < max_wait_s <= 600:
            raise ConfigError(f"Static(max_wait_s=) must be in (0, 600], got {max_wait_s}")
        self.max_in_flight = max_in_flight
        self.queue = queue
        self.max_wait_s = max_wait_s

    def limit(self) -> float | None:
        return float(self.max_in_flight)

    def __repr__(self) -> str:
        return f"Static(max_in_flight={self.max_in_flight}, queue={self.queue}, max_wait_s={self.max_wait_s})"


class Lag(Policy):
    """Reject while the event loop runs late (in the spirit of node's toobusy).

    The lag is a smoothed heartbeat lag (each tick weighs 1/3), plus how overdue the next tick is
    right now. Past ``max_lag_ms`` a request is rejected with probability
    ``(lag - bound) / bound``, so shedding ramps up from 0 at the bound to all at twice it.

    Args:
        max_lag_ms: the lag bound (default 70, toobusy's).
        interval_ms: the period of the policy's own heartbeat, used without a monitor (default 10).
    """

    name = "lag"

    def __init__(self, max_lag_ms: float = 70.0, *, interval_ms: float = 10.0) -> None:
        if not 1 <= max_lag_ms <= 60_000:
            raise ConfigError(f"Lag(max_lag_ms=) must be between 1 and 60000, got {max_lag_ms}")
        if not 1 <= interval_ms <= max_lag_ms:
            raise ConfigError(
                f"Lag(interval_ms=) must be between 1 and max_lag_ms, got {interval_ms}"
            )
        self.bound = max_lag_ms / 1000
        self.interval = interval_ms / 1000
        self.lag = 0.0  # smoothed
        self._heartbeat: Any = None
        self._own: Any = None
        self._random: Callable[[], float] = random.random

    def start(self, heartbeat: Any) -> None:
        if heartbeat is None:
            from loopsafe.runtime.heartbeat import Heartbeat

            heartbeat = self._own = Heartbeat(asyncio.get_running_loop(), self.interval)
            heartbeat.start()
        self._heartbeat = heartbeat
        heartbeat.every_tick(self._tick)

    def stop(self) -> None:
        if self._own is not None:
            self._own.stop()
            self._own = None
        self._heartbeat = None

    def _tick(self) -> None:
        heartbeat = self._heartbeat
        lags = heartbeat.lags if heartbeat is not None else None
        if lags:
            # Each interval weighs 1/3; one the loop slept through counts as no lag (a
            # heartbeat on the loop's iterations samples only while the loop is busy).
            idle = int(getattr(heartbeat, "slept", 0.0) / self.interval)
            if idle:
                self.lag *= (2 / 3) ** min(idle, 100)
            self.lag += (lags[-1][1] - self.lag) / 3

    def current(self) -> float:
        """The lag the policy acts on now, in seconds."""
        heartbeat = self._heartbeat
        if heartbeat is None or not heartbeat.running:
            return 0.0  # stopped (shutdown): its last tick grows old, the loop is not late
        overdue: float = heartbeat.stuck_for()
        return max(self.lag, overdue)

    def gate(self, share: float) -> str | None:
        bound = self.bound * share
        lag = self.current()
        if lag <= bound:
            return None
        if lag >= 2 * bound or self._random() < (lag - bound) / bound:
            return "lag"
        return None

    def __repr__(self) -> str:
        return f"Lag(max_lag_ms={self.bound * 1000:g})"


class Combined(Policy):
    """Several policies at once: the lowest limit applies and every gate must pass."""

    def __init__(self, policies: Iterable[Policy]) -> None:
        flat: list[Policy] = []
        for policy in policies:
            flat.extend(policy.parts())
        self.policies = tuple(flat)
        self.name = "+".join(p.name for p in self.policies)
        self._limiters = tuple(p for p in self.policies if type(p).limit is not Policy.limit)
        self._gates = tuple(p for p in self.policies if type(p).gate is not Policy.gate)
        queued = [p for p in self.policies if p.queue]
        self.queue = max((p.queue for p in queued), default=0)
        self.max_wait_s = max((p.max_wait_s for p in queued), default=0.0)

    def parts(self) -> tuple[Policy, ...]:
        return self.policies

    def limit(self) -> float | None:
        limits = [x for p in self._limiters if (x := p.limit()) is not None]
        return min(limits) if limits else None

    def gate(self, share: float) -> str | None:
        for policy in self._gates:
            reason = policy.gate(share)
            if reason is not None:
                return reason
        return None

    def observe(self, latency: float, in_flight: int, key: str = "") -> None:
        for policy in self.policies:
            policy.observe(latency, in_flight, key)

    def start(self, heartbeat: Any) -> None:
        for policy in self.policies:
            policy.start(heartbeat)

    def stop(self) -> None:
        for policy in self.policies:
            policy.stop()

    def __repr__(self) -> str:
        return " | ".join(repr(p) for p in self.policies)


def make_policy(spec: Any, source: str = "ShedMiddleware(policy=)") -> Policy:
    """A policy from a name (``"adaptive"``, ``"static+lag"``), a Policy, or a list of them."""
    if isinstance(spec, Policy):
        return spec
    if isinstance(spec, str):
        names = [n.strip() for n in spec.split("+")]
        for n in names:
            if n not in POLICY_NAMES:
                raise ConfigError(
                    f"unknown shedding policy {n!r} ({source}): use one of "
                    f"{', '.join(POLICY_NAMES)}, a policy object, or a list of them"
                )
        from loopsafe.shed.adaptive import Adaptive

        built: list[Policy] = [
            Static() if n == "static" else Adaptive() if n == "adaptive" else Lag() for n in names
        ]
        return built[0] if len(built) == 1 else Combined(built)
    if isinstance(spec, list | tuple) and spec:
        return Combined(make_policy(s, source) for s in spec)
    raise ConfigError(
        f"shedding policy must be a name, a policy object or a list of them, got {spec!r} ({source})"
    )
