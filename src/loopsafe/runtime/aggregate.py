"""Stall and request figures, grouped by culprit and by route, as plain JSON-able data."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from loopsafe.runtime.watchdog import StallEvent

LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SERIES_SECONDS = 600  # the per-second series (lag, thread pool) keep the last ten minutes


@dataclass(slots=True)
class _Group:
    count: int = 0
    total_s: float = 0.0
    max_s: float = 0.0
    routes: dict[str, int] = field(default_factory=dict)

    def add(self, duration: float, route: str | None) -> None:
        self.count += 1
        self.total_s += duration
        self.max_s = max(self.max_s, duration)
        key = route or "(outside a request)"
        self.routes[key] = self.routes.get(key, 0) + 1


@dataclass(slots=True)
class _Route:
    requests: int = 0
    in_flight: int = 0
    total_s: float = 0.0
    max_s: float = 0.0
    errors: int = 0
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=512))
    stalls: int = 0
    blocked_s: float = 0.0

    def record(self, seconds: float, error: bool) -> None:
        self.requests += 1
        self.total_s += seconds
        if seconds > self.max_s:
            self.max_s = seconds
        if error:
            self.errors += 1
        self.latencies.append(seconds)


def _quantile(ordered: list[float], q: float) -> float | None:
    """``q``-quantile of values already sorted (sorted once for p50 and p99)."""
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Aggregate:
    """Thread-safe counters: written by the watchdog (stalls) and the loop (requests)."""

    def __init__(self, max_events: int) -> None:
        self._lock = threading.Lock()
        self.events: deque[StallEvent] = deque(maxlen=max_events)
        self.stall_count = 0
        self.blocked_s = 0.0
        self.by_culprit: dict[str, _Group] = {}
        self.culprit_frames: dict[str, dict[str, Any]] = {}
        self.routes: dict[str, _Route] = {}
        self.lag_counts = [0] * (len(LAG_BUCKETS) + 1)
        self.host_pauses: dict[str, Any] = {
            "count": 0,
            "starved": 0,
            "frozen": 0,
            "total_s": 0.0,
            "max_s": 0.0,
        }
        self.lag_sum = 0.0
        self.lag_n = 0
        self.lag_max = 0.0
        self.recent_lags: deque[tuple[float, float]] = deque(maxlen=6000)  # (unix time, lag)
        self.pool: dict[str, Any] = {"total": None, "used": 0, "waiting": 0, "max_used": 0,
                                     "saturation_events": 0, "samples": 0}  # fmt: skip
        self.pool_history: deque[tuple[float, int, int, int]] = deque(maxlen=600)
        # One point per second, for charts: [second, max lag] and [second, total, max used,
        # max waiting]. Bounded, and written by the watchdog thread only.
        self.lag_series: deque[list[float]] = deque(maxlen=SERIES_SECONDS)
        self.pool_series: deque[list[int]] = deque(maxlen=SERIES_SECONDS)

    def add_stall(self, event: StallEvent) -> None:
        key = event.culprit.label if event.culprit else "(unknown)"
        with self._lock:
            self.events.append(event)
            self.stall_count += 1
            self.blocked_s += event.duration_s
            self.by_culprit.setdefault(key, _Group()).add(event.duration_s, event.route)
            if event.culprit is not None and key not in self.culprit_frames:
                self.culprit_frames[key] = event.culprit.to_json()
            if event.route is not None:
                route = self.routes.setdefault(event.route, _Route())
                route.stalls += 1
                route.blocked_s += event.duration_s

    def add_host_pause(self, cause: str, duration: float) -> None:
        """A late loop the host caused (starved of CPU, or the process frozen): not a stall."""
        with self._lock:
            pauses = self.host_pauses
            pauses["count"] += 1
            pauses[cause] += 1
            pauses["total_s"] = round(pauses["total_s"] + duration, 6)
            pauses["max_s"] = round(max(pauses["max_s"], duration), 6)

    def add_lag(self, when: float, lag: float) -> None:
        i = 0
        while i < len(LAG_BUCKETS) and lag > LAG_BUCKETS[i]:
            i += 1
        self.lag_counts[i] += 1
        self.lag_sum += lag
        self.lag_n += 1
        self.lag_max = max(self.lag_max, lag)
        self.recent_lags.append((when, lag))
        second = int(when)
        series = self.lag_series
        if series and series[-1][0] == second:
            series[-1] = [second, max(series[-1][1], lag)]  # replaced, not mutated: readers copy
        else:
            series.append([second, lag])

    def add_idle(self, when: float) -> None:
        """A second the loop spent asleep (no lag samples on the selector's iterations): a zero
        in the per-second series, so charts do not draw the last busy second across it."""
        second = int(when)
        series = self.lag_series
        if not series or series[-1][0] != second:
            series.append([second, 0.0])

    def route_stats(self, route: str) -> _Route:
        """The figures of one route label, created on first use (the monitor keeps the object
        and updates it per request, without going through the label)."""
        r = self.routes.get(route)
        if r is None:
            r = self.routes.setdefault(route, _Route())
        return r

    def record_request(self, route: str, seconds: float, error: bool) -> None:
        """One finished request (in-flight counts come from the monitor's live registry)."""
        self.route_stats(route).record(seconds, error)

    def add_pool_sample(self, when: float, total: int, used: int, waiting: int) -> None:
        pool = self.pool
        if waiting and not pool["waiting"]:
            pool["saturation_events"] += 1
        pool.update(total=total, used=used, waiting=waiting, samples=pool["samples"] + 1)
        pool["max_used"] = max(pool["max_used"], used)
        self.pool_history.append((when, total, used, waiting))
        second = int(when)
        series = self.pool_series
        if series and series[-1][0] == second:
            last = series[-1]
            series[-1] = [second, total, max(last[2], used), max(last[3], waiting)]
        else:
            series.append([second, total, used, waiting])

    def event(self, event_id: int) -> StallEvent | None:
        """The stall event with this id, if it is still among the recent ones."""
        with self._lock:
            for event in reversed(self.events):
                if event.id == event_id:
                    return event
        return None

    def events_after(self, event_id: int, limit: int) -> list[StallEvent]:
        """The most recent stall events (at most ``limit``) with an id above ``event_id``."""
        with self._lock:
            newer = [e for e in self.events if e.id > event_id]
        return newer[-limit:]

    def snapshot(self, max_events: int | None = None) -> dict[str, Any]:
        with self._lock:
            events = list(self.events)[-max_events:] if max_events else list(self.events)
            culprits = sorted(self.by_culprit.items(), key=lambda kv: -kv[1].total_s)
            routes = dict(self.routes)
        lags = sorted(lag for _, lag in list(self.recent_lags))
        latencies = {name: sorted(r.latencies) for name, r in routes.items()}
        return {
            "stalls": [e.to_json() for e in events],
            "stall_count": self.stall_count,
            "host_pauses": dict(self.host_pauses),
            "blocked_s_total": round(self.blocked_s, 6),
            "culprits": [
                {
                    "culprit": key,
                    "frame": self.culprit_frames.get(key),
                    "count": g.count,
                    "total_s": round(g.total_s, 6),
                    "max_s": round(g.max_s, 6),
                    "routes": dict(g.routes),
                }
                for key, g in culprits
            ],
            "routes": {
                name: {
                    "requests": r.requests,
                    "in_flight": r.in_flight,
                    "errors": r.errors,
                    "mean_s": round(r.total_s / r.requests, 6) if r.requests else None,
                    "max_s": round(r.max_s, 6),
                    "p50_s": _quantile(latencies[name], 0.5),
                    "p99_s": _quantile(latencies[name], 0.99),
                    "stalls": r.stalls,
                    "blocked_s": round(r.blocked_s, 6),
                }
                for name, r in sorted(routes.items())
            },
            "in_flight": sum(r.in_flight for r in routes.values()),
            "threadpool": dict(self.pool),
            "lag_series": [[t, round(lag, 6)] for t, lag in list(self.lag_series)],
            "pool_series": list(self.pool_series),
            "lag": {
                "samples": self.lag_n,
                "mean_s": self.lag_sum / self.lag_n if self.lag_n else None,
                "max_s": self.lag_max,
                "p50_s": _quantile(lags, 0.5),
                "p99_s": _quantile(lags, 0.99),
                "buckets": dict(
                    zip([*map(str, LAG_BUCKETS), "+Inf"], self.lag_counts, strict=True)
                ),
            },
        }
