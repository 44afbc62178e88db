"""Prometheus metrics of the shedder and the bulkheads: real prometheus_client metric objects
(so PROMETHEUS_MULTIPROC_DIR aggregates them), created once per registry."""

from __future__ import annotations

import threading
from typing import Any

_METRICS: dict[int, dict[str, Any]] = {}
_LOCK = threading.Lock()


def metrics(prometheus: Any) -> dict[str, Any] | None:
    """The metric objects for ``prometheus`` (True/None: the default registry when
    prometheus_client is installed; False: none; or a ``CollectorRegistry``)."""
    from loopsafe.runtime.sinks import prometheus_wanted

    if not prometheus_wanted(prometheus):
        return None
    from prometheus_client import REGISTRY, Counter, Gauge

    registry = REGISTRY if prometheus in (None, True) else prometheus
    with _LOCK:
        found = _METRICS.get(id(registry))
        if found is None:
            found = {
                "decisions": Counter("loopsafe_shed_decisions", "Load-shedding decisions.",
                                     ["decision", "reason", "priority"], registry=registry),
                "limit": Gauge("loopsafe_shed_limit", "Current concurrency limit of the shedder.",
                               registry=registry, multiprocess_mode="livesum"),
                "in_flight": Gauge("loopsafe_shed_in_flight", "Requests admitted and not finished.",
                                   registry=registry, multiprocess_mode="livesum"),
                "queued": Gauge("loopsafe_shed_queued", "Requests waiting for a slot.",
                                registry=registry, multiprocess_mode="livesum"),
                "bh_in_use": Gauge("loopsafe_bulkhead_in_use", "Bulkhead slots in use.", ["name"],
                                   registry=registry, multiprocess_mode="livesum"),
                "bh_waiting": Gauge("loopsafe_bulkhead_waiting", "Tasks waiting for a bulkhead "
                                    "slot.", ["name"], registry=registry,
                                    multiprocess_mode="livesum"),
                "bh_calls": Counter("loopsafe_bulkhead_calls", "Bulkhead acquisitions.",
                                    ["name", "outcome"], registry=registry),
            }  # fmt: skip
            _METRICS[id(registry)] = found
        return found
