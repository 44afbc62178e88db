"""ShedMiddleware on a real uvicorn: 503s that keep the connection, exemptions, priorities, the
wait queue, WebSocket 1013, and no slot lost to a failing handler or a departed client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import httpx
import pytest

import loopsafe
from loopsafe.shed import ShedMiddleware, Static
from tests.shed.apps import Gate, RawConnection, build, wait_until, websocket_close_code


@pytest.fixture
def gate() -> Iterator[Gate]:
    gate = Gate()
    yield gate
    gate.opened.set()  # never leave a handler waiting when a test fails


@pytest.fixture
def pool(gate: Gate) -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(8) as executor:
        yield executor
        gate.opened.set()  # let held requests finish before waiting for their threads


def hold(pool: ThreadPoolExecutor, gate: Gate, url: str, n: int) -> list[Future[httpx.Response]]:
    """Start ``n`` requests to ``url`` and return once their handlers are all running."""
    futures = [pool.submit(httpx.get, url, timeout=10) for _ in range(n)]
    gate.wait_entered(n)
    return futures


def test_over_the_limit_is_a_kept_alive_503(serve: Any, gate: Gate, pool: Any) -> None:
    middleware = ShedMiddleware(build(gate), Static(max_in_flight=2), prometheus=False)
    server = serve(middleware)
    held = hold(pool, gate, server.url + "/slow", 2)
    conn = RawConnection(server.port)
    try:
        rejected = conn.request("/fast")
        assert rejected.status == 503
        assert rejected.headers["retry-after"] == "1"
        assert rejected.headers["content-type"] == "application/problem+json"
        assert "connection" not in rejected.headers
        problem = json.loads(rejected.body)
        assert problem["status"] == 503 and problem["title"] == "Service Unavailable"
        assert len(rejected.body) < 150
        # A body sent with a rejected request is read, so the connection stays usable.
        assert conn.request("/echo", "POST", b'{"a": 1}').status == 503
        gate.opened.set()
        assert all(f.result().status_code == 200 for f in held)  # accepted ones finish
        assert wait_until(lambda: middleware.shedder.in_flight == 0)
        again = conn.request("/echo", "POST", b'{"a": 1}')  # the same connection
        assert again.status == 200 and json.loads(again.body) == {"a": 1}
        assert not conn.closed_by_server()
    finally:
        conn.close()
    shedder = middleware.shedder
    assert shedder.rejected == 2 and shedder.rejected_by_reason["limit"] == 2
    assert shedder.accepted == 3


def test_exempt_paths_are_never_shed(serve: Any, gate: Gate, pool: Any) -> None:
    middleware = ShedMiddleware(build(gate), Static(max_in_flight=1), prometheus=False)
    server = serve(middleware)
    hold(pool, gate, server.url + "/slow", 1)
    assert httpx.get(server.url + "/fast").status_code == 503
    assert httpx.get(server.url + "/health").status_code == 200
    assert middleware.shedder.accepted == 1  # /health is not even counted


def test_critical_traffic_is_shed_last(serve: Any, gate: Gate, pool: Any) -> None:
    app = build(gate)
    middleware = ShedMiddleware(
        app,
        Static(max_in_flight=4),
        priorities={"/admin": "critical", "/batch": "low"},
        prometheus=False,
    )
    server = serve(middleware)
    hold(pool, gate, server.url + "/slow", 3)
    # 3 in flight: low traffic gives way first (75% of the limit), normal still gets in.
    assert httpx.get(server.url + "/batch/fast").status_code == 503
    hold(pool, gate, server.url + "/slow", 1)
    # 4 in flight, the limit: normal traffic is shed, critical traffic has a reserve.
    assert httpx.get(server.url + "/fast").status_code == 503
    hold(pool, gate, server.url + "/admin/slow", 1)
    assert httpx.get(server.url + "/admin/fast").status_code == 503  # the reserve is bounded
    by_priority = middleware.shedder.snapshot()["by_priority"]
    assert by_priority["low"] == {"accepted": 0, "rejected": 1}
    assert by_priority["normal"] == {"accepted": 4, "rejected": 1}
    assert by_priority["critical"] == {"accepted": 1, "rejected": 1}


def test_the_queue_waits_for_a_slot_then_rejects(serve: Any, gate: Gate, pool: Any) -> None:
    middleware = ShedMiddleware(
        build(gate), Static(max_in_flight=1, queue=1, max_wait_s=5), prometheus=False
    )
    server = serve(middleware)
    first = hold(pool, gate, server.url + "/slow", 1)
    queued = pool.submit(httpx.get, server.url + "/fast", timeout=10)
    assert wait_until(lambda: middleware.shedder.queued == 1)
    full = httpx.get(server.url + "/fast")
    assert full.status_code == 503
    gate.opened.set()
    assert first[0].result().status_code == 200
    assert queued.result().status_code == 200  # it got the slot the first one freed
    snapshot = middleware.shedder.snapshot()
    assert snapshot["rejected_by_reason"]["queue_full"] == 1
    assert snapshot["accepted"] == 2 and snapshot["queued"] == 0 and snapshot["in_flight"] == 0


def test_a_queued_request_gives_up_after_max_wait(serve: Any, gate: Gate, pool: Any) -> None:
    middleware = ShedMiddleware(
        build(gate), Static(max_in_flight=1, queue=4, max_wait_s=0.2), prometheus=False
    )
    server = serve(middleware)
    hold(pool, gate, server.url + "/slow", 1)
    assert httpx.get(server.url + "/fast").status_code == 503
    assert middleware.shedder.rejected_by_reason["queue_timeout"] == 1
    assert middleware.shedder.queued == 0


def test_no_slot_leaks_when_the_handler_raises(serve: Any, gate: Gate) -> None:
    middleware = ShedMiddleware(build(gate), Static(max_in_flight=1), prometheus=False)
    server = serve(middleware)
    for _ in range(3):  # uvicorn closes the connection after an app error: one client each
        assert httpx.get(server.url + "/boom").status_code == 500
        assert middleware.shedder.in_flight == 0
    assert httpx.get(server.url + "/fast").status_code == 200
    assert middleware.shedder.rejected == 0


def test_no_slot_leaks_when_the_client_disconnects(serve: Any, gate: Gate, pool: Any) -> None:
    middleware = ShedMiddleware(build(gate), Static(max_in_flight=1), prometheus=False)
    server = serve(middleware)
    # A stream the client walks away from: the server cancels it and the slot comes back.
    with httpx.Client() as client, client.stream("GET", server.url + "/stream") as response:
        chunks = response.iter_bytes()
        assert next(chunks).startswith(b"first")
        gate.wait_entered(1)
        assert middleware.shedder.in_flight == 1
    assert gate.streams_closed.acquire(timeout=5)
    assert wait_until(lambda: middleware.shedder.in_flight == 0)
    # A handler still working when its client leaves: it finishes, then the slot is back.
    conn = RawConnection(server.port)
    conn.sock.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
    gate.wait_entered(1)
    conn.close()
    assert middleware.shedder.in_flight == 1
    gate.opened.set()
    assert wait_until(lambda: middleware.shedder.in_flight == 0)
    assert httpx.get(server.url + "/fast").status_code == 200


def test_websocket_handshake_is_closed_with_1013(serve: Any, gate: Gate, pool: Any) -> None:
    middleware = ShedMiddleware(build(gate), Static(max_in_flight=1), prometheus=False)
    server = serve(middleware)
    assert websocket_close_code(server.port, "/ws") == 1000  # admitted: the app closes it
    assert middleware.shedder.in_flight == 0  # a session does not hold a request slot
    hold(pool, gate, server.url + "/slow", 1)
    assert websocket_close_code(server.port, "/ws") == 1013


def test_install_puts_the_shedder_in_the_snapshot(serve: Any, gate: Gate, pool: Any) -> None:
    app = build(gate)
    monitor = loopsafe.install(app, shed=Static(max_in_flight=1), prometheus=False)
    server = serve(app)
    hold(pool, gate, server.url + "/slow", 1)
    assert httpx.get(server.url + "/fast").status_code == 503
    shed = monitor.snapshot()["shed"]
    assert shed == {
        "policy": "static",
        "limit": 1.0,
        "in_flight": 1,
        "queued": 0,
        "accepted": 1,
        "rejected": 1,
        "rejected_by_reason": {"limit": 1, "queue_full": 0, "queue_timeout": 0, "lag": 0},
        "by_priority": {
            "critical": {"accepted": 0, "rejected": 0},
            "normal": {"accepted": 1, "rejected": 1},
            "low": {"accepted": 0, "rejected": 0},
        },
    }
    json.dumps(monitor.snapshot())


def test_snapshot_without_shedding_and_combined_names() -> None:
    assert loopsafe.install(build(Gate()), prometheus=False).snapshot()["shed"] is None
    monitor = loopsafe.install(build(Gate()), shed="static+lag", prometheus=False)
    assert monitor.snapshot()["shed"]["policy"] == "static+lag"
