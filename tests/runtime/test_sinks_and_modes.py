"""Prometheus metrics, a sink that fails, strict mode, and the middleware on a plain ASGI app."""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry, generate_latest

import loopsafe
from tests.runtime.test_monitor import wait_for_stalls


def app_with(**options: Any) -> tuple[FastAPI, Any]:
    app = FastAPI()
    monitor = loopsafe.install(app, threshold_ms=50, **options)

    @app.get("/block")
    async def block() -> dict[str, bool]:
        time.sleep(0.12)
        return {"ok": True}

    return app, monitor


def test_prometheus_metrics(serve: Any, client: httpx.Client) -> None:
    registry = CollectorRegistry()
    app, monitor = app_with(prometheus=registry)
    server = serve(app)
    client.get(server.url + "/block")
    wait_for_stalls(monitor, 1)
    # The sink updates the gauges at the watchdog's housekeeping (every 0.25 s).
    deadline = time.monotonic() + 5
    while "loopsafe_threadpool_tokens 40.0" not in (text := generate_latest(registry).decode()):
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert 'loopsafe_loop_stalls_total{culprit="' in text
    assert 'route="GET /block"' in text
    assert "loopsafe_loop_blocked_seconds_total" in text
    assert "loopsafe_event_loop_lag_seconds_bucket" in text
    assert "loopsafe_threadpool_tokens 40.0" in text


class Broken:
    calls = 0

    def on_stall(self, event: Any) -> None:
        Broken.calls += 1
        raise RuntimeError("sink bug")


def test_a_failing_sink_is_disabled_and_logged_once(
    serve: Any, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    app, monitor = app_with(prometheus=False, sinks=(Broken(),))
    server = serve(app)
    with caplog.at_level(logging.ERROR, logger="loopsafe.runtime"):
        for _ in range(2):
            assert client.get(server.url + "/block").status_code == 200
        wait_for_stalls(monitor, 2)
    assert Broken.calls == 1
    assert len([r for r in caplog.records if "failed in on_stall" in r.getMessage()]) == 1


def test_strict_raise(serve: Any, client: httpx.Client) -> None:
    app, _ = app_with(prometheus=False, strict=True)
    server = serve(app)
    assert client.get(server.url + "/block").status_code == 500


def test_strict_log(serve: Any, client: httpx.Client, caplog: pytest.LogCaptureFixture) -> None:
    app, _ = app_with(prometheus=False, strict="log")
    server = serve(app)
    with caplog.at_level(logging.WARNING, logger="loopsafe.runtime"):
        assert client.get(server.url + "/block").status_code == 200
    messages = [r.getMessage() for r in caplog.records]
    assert any(
        "blocking call time.sleep on the event loop" in m and "test_sinks_and_modes.py" in m
        for m in messages
    )


def test_bad_options_are_config_errors() -> None:
    from loopsafe._errors import ConfigError

    with pytest.raises(ConfigError, match="threshold_ms"):
        loopsafe.Monitor(threshold_ms=0)
    with pytest.raises(ConfigError, match="strict"):
        loopsafe.Monitor(strict="loud")
    with pytest.raises(ConfigError, match="Starlette or FastAPI"):
        loopsafe.install(object())


async def plain_asgi(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    time.sleep(0.1)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def test_plain_asgi_app(serve: Any, client: httpx.Client) -> None:
    app = loopsafe.LoopSafeMiddleware(plain_asgi, threshold_ms=50, prometheus=False)
    server = serve(app)
    assert client.get(server.url + "/anything").text == "ok"
    (stall,) = wait_for_stalls(app.monitor, 1)
    assert stall["route"] == "GET (unmatched)"
    assert stall["user_frame"]["function"] == "plain_asgi"


def test_otel_span_event(serve: Any, client: httpx.Client) -> None:
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")

    inner, monitor = app_with(prometheus=False, otel=True)

    async def traced(scope: Any, receive: Any, send: Any) -> None:
        # OpenTelemetry's middleware outside loopsafe's: the span is current when ours starts.
        if scope["type"] != "http":
            await inner(scope, receive, send)
            return
        with tracer.start_as_current_span("request"):
            await inner(scope, receive, send)

    server = serve(traced)
    assert client.get(server.url + "/block").status_code == 200
    wait_for_stalls(monitor, 1)
    time.sleep(0.05)
    (span,) = [s for s in exporter.get_finished_spans() if s.name == "request"]
    (event,) = [e for e in span.events if e.name == "loopsafe.stall"]
    assert event.attributes["http.route"] == "GET /block"
    assert event.attributes["loopsafe.duration_s"] >= 0.05
    assert str(event.attributes["loopsafe.user_frame"]).endswith("test_sinks_and_modes.py:24")
    assert trace  # the API is importable alongside the SDK


def test_host_pauses_are_counted_by_cause() -> None:
    from types import SimpleNamespace

    from loopsafe.runtime.aggregate import Aggregate
    from loopsafe.runtime.sinks.prometheus import PrometheusSink

    registry = CollectorRegistry()
    sink = PrometheusSink(registry)
    aggregate = Aggregate(10)
    monitor = SimpleNamespace(aggregate=aggregate, new_lags=[], in_flight=lambda: 0)
    aggregate.add_host_pause("frozen", 0.4)
    aggregate.add_host_pause("starved", 0.2)
    aggregate.add_host_pause("starved", 0.3)
    sink.on_tick(monitor)
    sink.on_tick(monitor)  # nothing new: nothing added twice
    text = generate_latest(registry).decode()
    assert 'loopsafe_loop_host_pauses_total{cause="frozen"} 1.0' in text
    assert 'loopsafe_loop_host_pauses_total{cause="starved"} 2.0' in text


@pytest.mark.parametrize(("count_5xx", "errors"), [(False, 1), (True, 2)])
def test_errors_count_raised_requests_and_5xx_responses_when_asked(
    count_5xx: bool, errors: int
) -> None:
    import warnings

    from fastapi import HTTPException

    with warnings.catch_warnings():  # starlette's TestClient warns about its httpx
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    app = FastAPI()
    monitor = loopsafe.install(app, prometheus=False, count_5xx=count_5xx)

    @app.get("/fail/{how}")
    async def fail(how: str) -> dict[str, str]:
        if how == "raise":
            raise RuntimeError("boom")
        if how == "503":
            raise HTTPException(503, "busy")  # answered by FastAPI: no exception reaches us
        return {"ok": how}

    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/fail/raise").status_code == 500
        assert client.get("/fail/503").status_code == 503
        assert client.get("/fail/no").status_code == 200
        route = monitor.snapshot()["routes"]["GET /fail/{how}"]
    assert route["requests"] == 3
    assert route["errors"] == errors
