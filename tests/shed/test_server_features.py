"""On a real uvicorn: the lag policy (with and without a monitor), the request deadline and
disconnect-aware streams."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.requests import Request

import loopsafe
from loopsafe.shed import Deadline, Lag, ShedMiddleware, disconnect_aware
from tests.shed.apps import Gate, RawConnection, build, wait_until


@pytest.mark.parametrize("with_monitor", [False, True])
def test_lag_policy_rejects_while_the_loop_is_late(serve: Any, with_monitor: bool) -> None:
    gate = Gate()
    app = build(gate)
    policy = Lag(max_lag_ms=50)
    if with_monitor:
        monitor = loopsafe.install(app, shed=policy, prometheus=False, log_stalls=False)
        shedder = monitor.shedder
        server = serve(app)
    else:
        middleware = ShedMiddleware(app, policy, prometheus=False)
        shedder = middleware.shedder
        server = serve(middleware)
    with ThreadPoolExecutor(2) as pool:
        blocker = pool.submit(httpx.get, server.url + "/block?ms=700", timeout=10)
        gate.wait_entered(1)
        # Sent while the loop is blocked: decided once it runs again, 700 ms late.
        late = httpx.get(server.url + "/fast", timeout=10)
        assert blocker.result().status_code == 200
    assert late.status_code == 503
    assert shedder.rejected_by_reason["lag"] == 1
    # The lag decays as the heartbeat ticks on time again: requests get in again.
    assert wait_until(lambda: httpx.get(server.url + "/fast").status_code == 200)
    assert shedder.in_flight == 0


def deadline_app(cancelled: threading.Event) -> FastAPI:
    app = FastAPI()

    @app.get("/slow")
    async def slow() -> dict[str, bool]:
        try:
            await asyncio.sleep(30)
        finally:
            cancelled.set()
        return {"ok": True}

    @app.get("/reports/slow")
    async def report() -> dict[str, bool]:
        await asyncio.sleep(0.3)
        return {"ok": True}

    @app.post("/upload")
    async def upload(request: Request) -> dict[str, bool]:
        await asyncio.sleep(30)
        return {"ok": True}

    return app


def test_deadline_cancels_the_handler_and_answers_504(serve: Any) -> None:
    cancelled = threading.Event()
    app = Deadline(deadline_app(cancelled), seconds=0.2, routes={"/reports": 5})
    server = serve(app)
    conn = RawConnection(server.port)
    try:
        response = conn.request("/slow")
        assert response.status == 504
        assert response.headers["content-type"] == "application/problem+json"
        assert json.loads(response.body)["status"] == 504
        assert cancelled.wait(5)  # the handler saw its cancellation
        assert conn.request("/reports/slow").status == 200  # its own, longer deadline
        # A body the handler never read: the 504 closes the connection.
        assert conn.request("/upload", "POST", b'{"a": 1}').status == 504
        assert conn.closed_by_server()
    finally:
        conn.close()
    assert app.exceeded == 2


def stream_app(closed: threading.Event, first: threading.Event) -> Any:
    async def producer() -> AsyncIterator[bytes]:
        try:
            yield b"first\n"
            first.set()
            await asyncio.sleep(60)  # an idle feed: nothing to send for a long time
            yield b"never\n"
        finally:
            closed.set()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        # A plain ASGI streaming app: nothing but disconnect_aware notices the client leaving.
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        request = Request(scope, receive)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        async for chunk in disconnect_aware(request, producer()):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    return app


def test_disconnect_aware_stops_the_producer_when_the_client_leaves(serve: Any) -> None:
    closed, first = threading.Event(), threading.Event()
    server = serve(stream_app(closed, first))
    with httpx.Client() as client, client.stream("GET", server.url + "/feed") as response:
        chunks = response.iter_raw()  # held: a dropped iterator would close the response
        assert next(chunks).startswith(b"first")
        assert first.wait(5)
        assert not closed.is_set()
    assert closed.wait(5)  # long before the producer's 60 s wait would have ended
