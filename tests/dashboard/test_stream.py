"""The data behind the page: per-second series, deltas over Server-Sent Events, clean endings."""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
from fastapi import FastAPI

from loopsafe.runtime.aggregate import SERIES_SECONDS, Aggregate
from loopsafe.runtime.dashboard.feed import Cursor, Feed
from loopsafe.runtime.monitor import Monitor
from loopsafe.runtime.stacks import Frame
from loopsafe.runtime.watchdog import StallEvent
from tests.dashboard.conftest import auth, build
from tests.runtime.test_monitor import wait_for_stalls


def stall(n: int, when: float) -> StallEvent:
    frame = Frame(__file__, 1, "f")
    return StallEvent(n, when, 0.2, "GET /x", None, None, frame, frame, (frame, frame, frame))


def test_lag_and_pool_series_keep_the_highest_value_per_second() -> None:
    agg = Aggregate(10)
    for when, lag in [(100.1, 0.002), (100.5, 0.3), (100.9, 0.001), (101.2, 0.004)]:
        agg.add_lag(when, lag)
    agg.add_pool_sample(100.1, 40, 3, 0)
    agg.add_pool_sample(100.6, 40, 1, 2)
    agg.add_pool_sample(102.0, 40, 0, 0)
    snap = agg.snapshot()
    assert snap["lag_series"] == [[100, 0.3], [101, 0.004]]
    assert snap["pool_series"] == [[100, 40, 3, 2], [102, 40, 0, 0]]
    for second in range(SERIES_SECONDS + 5):
        agg.add_lag(1000 + second, 0.001)
    assert len(agg.snapshot()["lag_series"]) == SERIES_SECONDS


def test_feed_sends_deltas_without_stacks_and_resumes_from_its_cursor() -> None:
    monitor = Monitor(prometheus=False, log_stalls=False)
    agg = monitor.aggregate
    for n in (1, 2):
        agg.add_stall(stall(n, 100.0 + n))
        agg.add_lag(100.0 + n, 0.2)
    feed = Feed(monitor, max_age=0)
    body, cursor = feed.message(Cursor())
    head, data = body.decode().rstrip("\n").split("\ndata: ")
    assert head == f"id: {os.getpid()}.2.102.0\nevent: snapshot"
    message = json.loads(data)
    assert [s["id"] for s in message["stalls"]] == [1, 2]
    assert "stack" not in message["stalls"][0] and message["stalls"][0]["stack_depth"] == 3
    assert message["lag_series"] == [[101, 0.2], [102, 0.2]]
    assert Cursor.parse(str(cursor)) == cursor == Cursor(2, 102, 0)

    agg.add_stall(stall(3, 103.0))
    agg.add_lag(103.0, 0.2)
    body, cursor = feed.message(cursor)
    message = json.loads(body.split(b"data: ")[1])
    assert [s["id"] for s in message["stalls"]] == [3]
    assert message["lag_series"] == [[102, 0.2], [103, 0.2]]  # the last second may still grow
    assert json.loads(feed.stall(3) or b"")["stack"][0]["function"] == "f"
    assert feed.stall(99) is None


def test_feed_passes_the_shedding_state_through() -> None:
    monitor = Monitor(prometheus=False, log_stalls=False)
    plain = monitor.snapshot
    shed = {"policy": "aimd", "limit": 12, "in_flight": 3, "rejected": 4}
    monitor.snapshot = lambda max_events=None: {**plain(max_events), "shed": shed}  # type: ignore[method-assign]
    body, _ = Feed(monitor).message(Cursor())
    assert json.loads(body.split(b"data: ")[1])["shed"] == shed


def test_cursor_from_a_bad_last_event_id_starts_over() -> None:
    for text in (None, "", "1.2.3", "a.b.c.d", "1.2.3.4.5", f"{os.getpid() + 1}.5.6.7"):
        assert Cursor.parse(text) == Cursor()  # the last one: another worker's cursor
    assert Cursor.parse(f"{os.getpid()}.5.6.7") == Cursor(5, 6, 7)


def read_events(lines: Iterator[str], count: int) -> list[tuple[str, dict[str, Any]]]:
    """The next ``count`` events. Takes the response's line iterator, not the response: a fresh
    ``iter_lines()`` left early closes the connection."""
    events: list[tuple[str, dict[str, Any]]] = []
    event_id = ""
    for line in lines:
        if line.startswith("id: "):
            event_id = line[4:]
        elif line.startswith("data: "):
            events.append((event_id, json.loads(line[6:])))
            if len(events) == count:
                break
    return events


def loop_tasks(client: httpx.Client, url: str) -> list[str]:
    return list(client.get(url + "/tasks").json())


def tasks_route(app: FastAPI) -> None:
    import asyncio

    @app.get("/tasks")
    async def tasks() -> list[str]:
        current = asyncio.current_task()
        return [t.get_coro().__qualname__ for t in asyncio.all_tasks() if t is not current]  # type: ignore[union-attr]


def test_stream_ends_when_the_client_goes_and_leaves_no_task(
    serve: Any, client: httpx.Client
) -> None:
    app, _ = build()
    tasks_route(app)
    server = serve(app)
    before = loop_tasks(client, server.url)
    dashboard = app.middleware_stack
    with client.stream("GET", server.url + "/_loopsafe/events", headers=auth()) as response:
        assert response.headers["content-type"] == "text/event-stream"
        lines = response.iter_lines()
        assert len(read_events(lines, 2)) == 2
        assert dashboard.streams == 1
        assert "_disconnected" in loop_tasks(client, server.url)
        del lines  # closing the line iterator closes the connection, like a browser tab
    deadline = time.monotonic() + 10
    while dashboard.streams and time.monotonic() < deadline:
        time.sleep(0.02)
    assert dashboard.streams == 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        left = Counter(loop_tasks(client, server.url)) - Counter(before)
        if not left:
            break
        time.sleep(0.02)
    assert not left  # the stream's request task and its disconnect watcher are gone


def test_stream_ends_by_itself_and_resumes_from_last_event_id(
    serve: Any, client: httpx.Client
) -> None:
    app, monitor = build()
    server = serve(app)
    dashboard = app.middleware_stack
    dashboard.stream_s, dashboard.interval = 0.5, 0.1
    url = server.url + "/_loopsafe/events"
    wait_for_stalls(monitor, 1)  # the lifespan's
    with client.stream("GET", url, headers=auth()) as response:
        first = read_events(response.iter_lines(), 1000)  # reads until the server ends the stream
    assert first and response.is_closed
    last_id, last = first[-1]
    assert [s["id"] for s in first[0][1]["stalls"]] == [1]  # the lifespan's stall
    assert client.get(server.url + "/sleep/120").status_code == 200
    wait_for_stalls(monitor, 2)
    with client.stream("GET", url, headers={**auth(), "Last-Event-ID": last_id}) as response:
        ((_, resumed),) = read_events(response.iter_lines(), 1)
    assert [s["id"] for s in resumed["stalls"]] == [2]  # only what is new
    assert resumed["lag_series"][0][0] >= last["lag_series"][-1][0]


def test_snapshots_are_built_off_the_loop(serve: Any, client: httpx.Client) -> None:
    app, monitor = build()
    threads: list[str] = []
    plain = monitor.snapshot

    def recording(max_events: int | None = None) -> dict[str, Any]:
        threads.append(threading.current_thread().name)
        return plain(max_events)

    monitor.snapshot = recording
    server = serve(app)
    assert client.get(server.url + "/_loopsafe/api", headers=auth()).status_code == 200
    with client.stream("GET", server.url + "/_loopsafe/events", headers=auth()) as response:
        assert read_events(response.iter_lines(), 1)
    assert len(threads) == 2
    assert server.thread.name not in threads  # the loop runs in the server's thread
