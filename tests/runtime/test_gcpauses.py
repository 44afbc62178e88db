"""The garbage collector's pauses: timed through gc.callbacks, and matched to a stall's window."""

from __future__ import annotations

import asyncio
import gc
import logging
from typing import Any

import pytest

from loopsafe.runtime.gcpauses import GcPauses
from loopsafe.runtime.heartbeat import Heartbeat
from loopsafe.runtime.monitor import Monitor
from loopsafe.runtime.sinks.logging import LogSink
from loopsafe.runtime.watchdog import StallEvent, Watchdog, gc_frame


def test_within_counts_only_the_overlap() -> None:
    pauses = GcPauses()
    pauses.pauses.extend([(10.0, 0.05, 2, 100), (10.2, 0.002, 0, 5)])
    share = pauses.within(9.9, 10.1)
    assert share is not None
    assert share.seconds == pytest.approx(0.05)
    assert (share.generation, share.collections, share.collected) == (2, 1, 100)
    partial = pauses.within(9.97, 10.1)
    assert partial is not None and partial.seconds == pytest.approx(0.03)
    assert pauses.within(10.0, 10.19) is None  # between the two
    both = pauses.within(9.0, 11.0)
    assert both is not None
    assert (both.generation, both.collections, both.collected) == (2, 2, 105)


def test_a_full_collection_is_recorded_and_the_callback_removed() -> None:
    before = list(gc.callbacks)
    pauses = GcPauses()
    pauses.install()
    pauses.install()  # once only
    assert gc.callbacks.count(pauses._on_gc) == 1
    heap = [[] for _ in range(300_000)]
    gc.collect()
    del heap
    pauses.remove()
    assert gc.callbacks == before
    assert any(generation == 2 and seconds >= 0.001 for _, seconds, generation, _ in pauses.pauses)
    count = len(pauses.pauses)
    gc.collect()
    assert len(pauses.pauses) == count  # removed: no longer called


def test_the_monitor_leaves_gc_callbacks_as_it_found_them() -> None:
    before = list(gc.callbacks)

    async def run() -> int:
        monitor = Monitor(prometheus=False, log_stalls=False)
        monitor.start()
        during = len(gc.callbacks)
        monitor.stop()
        return during

    assert asyncio.run(run()) == len(before) + 1
    assert gc.callbacks == before


def test_the_log_line_names_the_collector(caplog: pytest.LogCaptureFixture) -> None:
    pauses = GcPauses()
    pauses.pauses.append((1.0, 0.058, 2, 120341))
    event = StallEvent(1, 0.0, 0.062, "GET /report", "req-1", "Task-1", gc_frame(2), None)
    event.gc = pauses.within(0.9, 1.1)
    with caplog.at_level(logging.WARNING, logger="loopsafe.runtime"):
        LogSink().on_stall(event)
    (message,) = caplog.messages
    assert message.startswith(
        "loop blocked 62 ms in GET /report by garbage collection (generation 2, 58 ms, "
        "120341 objects freed); gc.freeze()"
    ), message
    assert event.to_json()["gc"] == {
        "seconds": 0.058, "generation": 2, "collections": 1, "collected": 120341
    }  # fmt: skip


def test_a_collection_only_seen_afterwards_is_still_reported() -> None:
    loop = asyncio.new_event_loop()
    try:
        events: list[StallEvent] = []
        pauses = GcPauses()
        watchdog = Watchdog(
            Heartbeat(loop, 0.01), 0, 0.05, 0.02, lambda task, frame: (None, None, None),
            events.append, lambda lags: None, use_alarm=False, gc_pauses=pauses,
        )  # fmt: skip
        pauses.pauses.append((100.0, 0.07, 2, 10))  # a 70 ms collection, ended at 100.0
        assert watchdog._unseen_gc([(100.001, 0.072)], now=100.1)
        (event,) = events
        assert event.by_gc and event.route is None
        assert event.culprit == gc_frame(2)
        # A lag the collector does not explain is left to the host-pause check.
        assert not watchdog._unseen_gc([(200.0, 0.08)], now=200.1)
        assert len(events) == 1
    finally:
        loop.close()


def test_a_long_collection_notes_what_it_stopped() -> None:
    pauses = GcPauses()
    owner = ("GET /report", "req-7", "Task-3", None)
    pauses.name_requests(lambda: owner, 0.0)
    pauses.install()
    try:
        heap = [[] for _ in range(100_000)]
        gc.collect()
        del heap
    finally:
        pauses.remove()
    ended = pauses.owners[-1][0]
    assert pauses.owner_within(ended - 1, ended) == owner
    assert pauses.owner_within(ended + 0.001, ended + 1) is None


def test_a_failing_owner_lookup_does_not_reach_the_collector() -> None:
    pauses = GcPauses()

    def broken() -> Any:
        raise RuntimeError("boom")

    pauses.name_requests(broken, 0.0)
    pauses.install()
    try:
        gc.collect()  # would raise (or print "Exception ignored") if the error escaped
    finally:
        pauses.remove()
    assert not pauses.owners
