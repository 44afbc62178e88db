"""Prometheus metrics of the service, next to the ones loopsafe's monitor exports.

Under gunicorn with several workers set PROMETHEUS_MULTIPROC_DIR (gunicorn.conf.py does):
each worker writes its values there and /metrics adds them up across workers.
"""

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

UPSTREAM_SECONDS = Histogram(
    "shop_upstream_request_seconds",
    "Outbound calls to upstream services, by upstream and outcome.",
    ["upstream", "outcome"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5),
)
DEGRADED = Counter(
    "shop_degraded_responses_total",
    "Responses served without one of their upstreams (timeout, error, bulkhead full).",
    ["route"],
)
SSE_STREAMS = Gauge(
    "shop_sse_streams", "Server-sent event streams open now.", multiprocess_mode="livesum"
)


def render() -> tuple[bytes, str]:
    """The exposition text: this process's registry, or every worker's in multi-process mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
