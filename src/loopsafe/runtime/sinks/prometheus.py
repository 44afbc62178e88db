"""Prometheus metrics. Real prometheus_client metric objects, so gunicorn's multi-process mode
(PROMETHEUS_MULTIPROC_DIR) aggregates them across workers; created once per registry."""

from __future__ import annotations

import threading
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

from loopsafe.runtime.aggregate import LAG_BUCKETS
from loopsafe.runtime.watchdog import StallEvent

_METRICS: dict[int, dict[str, Any]] = {}
_LOCK = threading.Lock()
_MAX_CULPRITS = 200  # label values are bounded: past this, culprits count as "other"


def _metrics(registry: CollectorRegistry) -> dict[str, Any]:
    with _LOCK:
        found = _METRICS.get(id(registry))
        if found is None:
            found = {
                "lag": Histogram("loopsafe_event_loop_lag_seconds", "How late the event loop ran "
                                 "its heartbeat.", buckets=LAG_BUCKETS, registry=registry),
                "stalls": Counter("loopsafe_loop_stalls", "Event-loop stalls above the threshold.",
                                  ["route", "culprit"], registry=registry),
                "blocked": Counter("loopsafe_loop_blocked_seconds", "Time the event loop spent "
                                   "blocked in stalls.", ["route"], registry=registry),
                "host_pauses": Counter("loopsafe_loop_host_pauses", "Late loops the host caused "
                                       "(starved of CPU, or the process frozen): not stalls.",
                                       ["cause"], registry=registry),
                "pool_total": Gauge("loopsafe_threadpool_tokens", "Thread-pool tokens in total.",
                                    registry=registry, multiprocess_mode="livesum"),
                "pool_used": Gauge("loopsafe_threadpool_tokens_used", "Thread-pool tokens in use.",
                                   registry=registry, multiprocess_mode="livesum"),
                "pool_waiting": Gauge("loopsafe_threadpool_tasks_waiting", "Tasks waiting for a "
                                      "thread-pool token.", registry=registry, multiprocess_mode="livesum"),
                "in_flight": Gauge("loopsafe_requests_in_flight", "Requests being served.",
                                   registry=registry, multiprocess_mode="livesum"),
            }  # fmt: skip
            _METRICS[id(registry)] = found
        return found


class PrometheusSink:
    """Feeds the metrics from the watchdog thread: the request path pays nothing for them."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.metrics = _metrics(registry or REGISTRY)
        self._culprits: set[str] = set()
        self._host_pauses = {"starved": 0, "frozen": 0}  # counts already exported

    def on_stall(self, event: StallEvent) -> None:
        culprit = f"{event.culprit.path}:{event.culprit.line}" if event.culprit else "unknown"
        if culprit not in self._culprits:
            if len(self._culprits) >= _MAX_CULPRITS:
                culprit = "other"
            else:
                self._culprits.add(culprit)
        route = event.route or "none"
        self.metrics["stalls"].labels(route=route, culprit=culprit).inc()
        self.metrics["blocked"].labels(route=route).inc(event.duration_s)

    def on_tick(self, monitor: Any) -> None:
        agg = monitor.aggregate
        for _, lag in monitor.new_lags:
            self.metrics["lag"].observe(lag)
        pool = agg.pool
        if pool["total"] is not None:
            self.metrics["pool_total"].set(pool["total"])
            self.metrics["pool_used"].set(pool["used"])
            self.metrics["pool_waiting"].set(pool["waiting"])
        self.metrics["in_flight"].set(monitor.in_flight())
        pauses = agg.host_pauses
        for cause, seen in self._host_pauses.items():
            if pauses[cause] > seen:
                self.metrics["host_pauses"].labels(cause=cause).inc(pauses[cause] - seen)
                self._host_pauses[cause] = pauses[cause]
