"""The shedder's and the bulkheads' Prometheus metrics, in a registry of their own."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from loopsafe.shed import Bulkhead, BulkheadFull, Static
from loopsafe.shed.shedder import Shedder


def value(registry: CollectorRegistry, metric: str, **labels: str) -> float:
    found = registry.get_sample_value(metric, labels)
    return 0.0 if found is None else found


def test_shed_metrics() -> None:
    registry = CollectorRegistry()
    shedder = Shedder(Static(max_in_flight=2), prometheus=registry)
    shedder.start(None)
    for _ in range(3):
        shedder.admit("normal")
    assert value(registry, "loopsafe_shed_limit") == 2
    assert value(registry, "loopsafe_shed_in_flight") == 2
    accepted = {"decision": "accepted", "reason": "", "priority": "normal"}
    rejected = {"decision": "rejected", "reason": "limit", "priority": "normal"}
    assert value(registry, "loopsafe_shed_decisions_total", **accepted) == 2
    assert value(registry, "loopsafe_shed_decisions_total", **rejected) == 1
    shedder.release(0.01)
    assert value(registry, "loopsafe_shed_in_flight") == 1


@pytest.mark.anyio
async def test_bulkhead_metrics() -> None:
    registry = CollectorRegistry()
    bulkhead = Bulkhead("payments", 1, 0, prometheus=registry)
    async with bulkhead:
        assert value(registry, "loopsafe_bulkhead_in_use", name="payments") == 1
        with pytest.raises(BulkheadFull):
            async with bulkhead:
                pass
    assert value(registry, "loopsafe_bulkhead_in_use", name="payments") == 0
    calls = "loopsafe_bulkhead_calls_total"
    assert value(registry, calls, name="payments", outcome="acquired") == 1
    assert value(registry, calls, name="payments", outcome="rejected") == 1


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
