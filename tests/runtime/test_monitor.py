"""Stalls on a real uvicorn server: each reported with its culprit line, its route and its task."""

from __future__ import annotations

import gc
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.runtime import stalling_app
from tests.runtime.conftest import culprit_line

APP_FILE = str(Path(stalling_app.__file__).resolve())
HELPER_FILE = str(Path(stalling_app.__file__).resolve().parent / "slow_helpers.py")

pytestmark = pytest.mark.usefixtures("heartbeat_mode")  # every test, with each heartbeat


def wait_for_stalls(monitor: Any, n: int, timeout: float = 5.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stalls = monitor.snapshot()["stalls"]
        if len(stalls) >= n:
            return list(stalls)
        time.sleep(0.02)
    return list(monitor.snapshot()["stalls"])


@pytest.mark.parametrize(
    ("path", "route", "file", "tag"),
    [
        ("/sleep/150", "GET /sleep/{ms}", APP_FILE, "sleep"),
        ("/cpu", "GET /cpu", APP_FILE, "cpu"),
        ("/helper", "GET /helper", HELPER_FILE, "helper"),
        ("/dependency", "GET /dependency", APP_FILE, "dependency"),
        ("/middleware", "GET /middleware", APP_FILE, "middleware"),
        ("/gather", "GET /gather", APP_FILE, "spawned"),
        ("/taskgroup", "GET /taskgroup", APP_FILE, "spawned"),
        ("/awaited-task", "GET /awaited-task", APP_FILE, "spawned"),
    ],
)
def test_stall_is_attributed(
    serve: Any, client: httpx.Client, path: str, route: str, file: str, tag: str
) -> None:
    app, monitor = stalling_app.build(threshold_ms=50, prometheus=False)
    server = serve(app)
    wait_for_stalls(monitor, 1)  # the lifespan's own stall
    # Earlier tests' garbage: a full collection on the loop blocks it for ~50 ms in this
    # process, a real stall (its own report, "in no request") that would race the request's.
    gc.collect()
    assert client.get(server.url + path).status_code == 200
    deadline = time.monotonic() + 5
    while not (stalls := [s for s in monitor.snapshot()["stalls"] if s["route"] == route]):
        assert time.monotonic() < deadline, monitor.snapshot()["stalls"]
        time.sleep(0.02)
    time.sleep(0.2)  # a second report for the same request would come within a poll or two
    stalls = [s for s in monitor.snapshot()["stalls"] if s["route"] == route]
    assert len(stalls) == 1, stalls
    (stall,) = stalls
    assert stall["duration_s"] >= 0.05
    assert stall["user_frame"]["path"] == file
    assert stall["user_frame"]["line"] == culprit_line(Path(file).name, tag)
    assert stall["route"] == route
    assert stall["task"]
    assert stall["request_id"]


def test_lifespan_stall_is_outside_a_request(serve: Any) -> None:
    app, monitor = stalling_app.build(threshold_ms=50, prometheus=False)
    serve(app)
    (stall,) = wait_for_stalls(monitor, 1)
    assert stall["route"] is None
    assert stall["user_frame"]["line"] == culprit_line("stalling_app.py", "lifespan")
    assert stall["duration_s"] >= stalling_app.STARTUP_STALL_S * 0.8


def test_clean_and_sync_routes_under_load_are_never_blamed(
    serve: Any, client: httpx.Client
) -> None:
    app, monitor = stalling_app.build(threshold_ms=50, prometheus=False)
    server = serve(app)
    before = len(wait_for_stalls(monitor, 1))

    def hit(path: str) -> None:
        with httpx.Client(timeout=10) as c:
            for _ in range(5):
                assert c.get(server.url + path).status_code == 200

    threads = [threading.Thread(target=hit, args=(p,)) for p in ["/clean"] * 6 + ["/sync"] * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    time.sleep(0.1)
    snap = monitor.snapshot()
    # A starved machine can delay the loop (a true stall, of the host); but nothing in the clean
    # and sync routes' own code blocks, so no stall may be pinned on them.
    for stall in snap["stalls"][before:]:
        frame = stall["user_frame"]
        assert frame is None or frame["function"] not in ("clean_route", "sync_route"), stall
    assert snap["routes"]["GET /clean"]["requests"] == 30
    assert snap["routes"]["GET /sync"]["requests"] == 10
    assert snap["threadpool"]["total"] == 40
    assert snap["threadpool"]["max_used"] >= 1


def test_snapshot_is_json_and_grouped(serve: Any, client: httpx.Client) -> None:
    import json

    app, monitor = stalling_app.build(threshold_ms=50, prometheus=False)
    server = serve(app)
    wait_for_stalls(monitor, 1)
    for _ in range(3):
        client.get(server.url + "/sleep/80")
    wait_for_stalls(monitor, 4)
    snap = json.loads(json.dumps(monitor.snapshot()))
    sleep = [
        c
        for c in snap["culprits"]
        if c["frame"] and c["frame"]["line"] == culprit_line("stalling_app.py", "sleep")
    ]
    assert sleep and sleep[0]["count"] == 3
    assert sleep[0]["routes"] == {"GET /sleep/{ms}": 3}
    assert snap["routes"]["GET /sleep/{ms}"]["stalls"] == 3
    assert snap["lag"]["samples"] > 0 and snap["lag"]["max_s"] >= 0.05
    assert snap["schema_version"] == 1 and snap["running"] is True


def test_shutdown_joins_the_watchdog(serve: Any) -> None:
    app, monitor = stalling_app.build(threshold_ms=50, prometheus=False)
    server = serve(app)
    assert any(t.name == "loopsafe-watchdog" for t in threading.enumerate())
    server.__exit__()
    assert monitor.running is False
    assert not any(t.name == "loopsafe-watchdog" and t.is_alive() for t in threading.enumerate())


def test_in_flight_requests_are_counted_by_route_while_they_run(serve: Any) -> None:
    app, monitor = stalling_app.build(threshold_ms=50, prometheus=False)
    server = serve(app)
    url = server.url + "/wait/1500"
    with httpx.Client(timeout=10) as one, httpx.Client(timeout=10) as two:
        waiting = [threading.Thread(target=c.get, args=(url,)) for c in (one, two)]
        for thread in waiting:
            thread.start()
        deadline = time.monotonic() + 5
        while monitor.in_flight() < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        snap = monitor.snapshot()
        assert monitor.in_flight() == 2
        assert snap["in_flight"] == 2
        assert snap["routes"]["GET /wait/{ms}"]["in_flight"] == 2
        for thread in waiting:
            thread.join()
    # The client can have its response a moment before the middleware's last lines run.
    deadline = time.monotonic() + 5
    while monitor.in_flight() and time.monotonic() < deadline:
        time.sleep(0.02)
    snap = monitor.snapshot()
    assert monitor.in_flight() == 0 and snap["in_flight"] == 0
    assert snap["routes"]["GET /wait/{ms}"]["requests"] == 2


def test_a_garbage_collection_is_named_as_the_culprit(serve: Any, client: httpx.Client) -> None:
    app, monitor = stalling_app.build(threshold_ms=10, prometheus=False)
    server = serve(app)
    wait_for_stalls(monitor, 1)  # the lifespan's own stall
    heap = [[] for _ in range(1_500_000)]  # a full collection scans it: ~30 ms here
    gc.collect()  # building it ran collections that stalled the loop: let them be reported
    time.sleep(0.3)
    seen = max(s["id"] for s in monitor.snapshot()["stalls"])
    assert client.get(server.url + "/gc").status_code == 200
    deadline = time.monotonic() + 5
    while not (found := [s for s in monitor.snapshot()["stalls"] if s["id"] > seen]):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(0.2)  # a second report for the same stall would come within a poll or two
    found = [s for s in monitor.snapshot()["stalls"] if s["id"] > seen]
    del heap  # (freeing it stalls the loop too, after the stalls looked at here)
    assert len(found) == 1, [(s["culprit"], s["gc"], s["route"]) for s in found]
    (stall,) = found
    # Whether the watchdog saw it while it lasted or only afterwards (it cannot run during a
    # collection), it names the request: the collector's callback notes it.
    assert stall["route"] == "GET /gc", {k: v for k, v in stall.items() if k != "stack"}
    assert stall["request_id"]
    assert stall["culprit"]["function"] == "garbage collection (generation 2)"
    assert stall["gc"]["generation"] == 2
    assert stall["gc"]["seconds"] >= 0.5 * stall["duration_s"]
    assert stall["duration_s"] >= 0.01
    culprits = monitor.snapshot()["culprits"]
    assert any(c["frame"]["path"] == "<gc>" for c in culprits), culprits

    # A blocking call is still blamed on its line, with no collection to speak of.
    assert client.get(server.url + "/sleep/60").status_code == 200
    deadline = time.monotonic() + 5
    while not (
        slept := [s for s in monitor.snapshot()["stalls"] if s["route"] == "GET /sleep/{ms}"]
    ):
        assert time.monotonic() < deadline, monitor.snapshot()["stalls"]
        time.sleep(0.02)
    assert slept[0]["culprit"]["path"] != "<gc>"
    assert slept[0]["gc"] is None or slept[0]["gc"]["seconds"] < 0.03
