"""The watchdog's alarm: a healthy loop keeps pushing it back, a stuck one lets it fire."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from loopsafe.runtime.alarm import Alarm
from loopsafe.runtime.monitor import Monitor
from tests.runtime import stalling_app
from tests.runtime.conftest import culprit_line
from tests.runtime.test_monitor import wait_for_stalls

pytestmark = pytest.mark.skipif(Alarm.open() is None, reason="no timerfd on this system")


def test_a_pushed_alarm_fires_once_due() -> None:
    """``pusher`` is ``arm`` for a fixed delay, with the timer setting built once."""
    alarm = Alarm.open()
    assert alarm is not None
    try:
        push = alarm.pusher(0.02)
        now = time.monotonic()
        push(now)
        assert alarm.deadline == pytest.approx(now + 0.02)
        assert alarm.wait(5)
        assert time.monotonic() >= now + 0.02
        assert not alarm.wait(0.01)  # one shot
        push(time.monotonic())  # and again, from the same setting
        assert alarm.wait(5)
    finally:
        alarm.close()
    push(time.monotonic())  # closed: the system call fails quietly


def test_fires_once_due() -> None:
    alarm = Alarm.open()
    assert alarm is not None
    try:
        assert not alarm.wait(0.01)  # never armed
        alarm.arm(0.02)
        assert alarm.wait(5)
        assert not alarm.wait(0.01)  # one shot: read, and not armed again
    finally:
        alarm.close()


def test_rearming_pushes_it_back() -> None:
    alarm = Alarm.open()
    assert alarm is not None
    fired = threading.Event()
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            if alarm.wait(0.05):
                fired.set()

    thread = threading.Thread(target=watch)
    alarm.arm(0.1)
    thread.start()
    try:
        for _ in range(20):  # 0.2 s of re-arming, each time well before it is due
            time.sleep(0.01)
            alarm.arm(0.1)
        assert not fired.is_set()
        assert fired.wait(5)  # left alone, it goes off
    finally:
        stop.set()
        thread.join()
        alarm.close()
    assert alarm.fd == -1


def _switches(native_id: int) -> int:
    return int(Path(f"/proc/self/task/{native_id}/schedstat").read_text().split()[2])


def test_a_healthy_loop_does_not_wake_the_watchdog() -> None:
    """Polling woke it 50 times a second; with the alarm, only its housekeeping remains."""

    async def main() -> int:
        monitor = Monitor(prometheus=False)
        monitor.start()
        watchdog = monitor._watchdog
        assert watchdog is not None and watchdog.native_id is not None
        await asyncio.sleep(0.3)
        before = _switches(watchdog.native_id)
        await asyncio.sleep(1.0)
        wakes = _switches(watchdog.native_id) - before
        monitor.stop()
        return wakes

    if not os.path.exists(f"/proc/self/task/{threading.get_native_id()}/schedstat"):
        pytest.skip("no /proc schedstat")
    # 4 housekeeping wake-ups, plus slack for GIL hand-offs and a busy host; polling makes 50+.
    assert asyncio.run(main()) <= 25


@pytest.mark.parametrize("use_alarm", [True, False], ids=["alarm", "polling"])
def test_both_ways_of_waking_attribute_a_stall(
    serve: Any, client: httpx.Client, use_alarm: bool
) -> None:
    app, monitor = stalling_app.build(threshold_ms=50, prometheus=False)
    monitor._use_alarm = use_alarm
    server = serve(app)
    before = len(wait_for_stalls(monitor, 1))  # the lifespan's own stall
    assert client.get(server.url + "/sleep/120").status_code == 200
    (stall,) = wait_for_stalls(monitor, before + 1)[before:]
    assert stall["route"] == "GET /sleep/{ms}"
    assert stall["user_frame"]["line"] == culprit_line("stalling_app.py", "sleep")
    assert monitor._watchdog is not None
    assert (monitor._watchdog.alarm is not None) is use_alarm


def test_a_broken_alarm_falls_back_to_polling(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Alarm, timeout: float) -> bool:
        raise OSError(9, "Bad file descriptor")

    async def main() -> tuple[int, bool]:
        monitor = Monitor(prometheus=False)
        monitor.start()
        watchdog = monitor._watchdog
        assert watchdog is not None and watchdog.alarm is not None
        monkeypatch.setattr(Alarm, "wait", broken)
        await asyncio.sleep(0.3)
        time.sleep(0.15)  # a stall: seen by polling
        await asyncio.sleep(0.3)
        monitor.stop()
        return monitor.snapshot()["stall_count"], watchdog.alarm is None

    assert asyncio.run(main()) == (1, True)
    assert "its alarm failed; polling instead" in caplog.text


class _CountingAlarm:
    def __init__(self) -> None:
        self.pushes = 0

    def pusher(self, seconds: float) -> Any:
        def push(now: float) -> None:
            self.pushes += 1

        return push


@pytest.mark.parametrize(("rearm_every", "pushes"), [(0.01, 20), (0.02, 10), (0.04, 5)])
def test_the_heartbeat_pushes_the_alarm_at_most_every_rearm_every(
    monkeypatch: pytest.MonkeyPatch, rearm_every: float, pushes: int
) -> None:
    """Each push is a system call that a virtual machine makes dear: a tick pushes the alarm
    only when ``rearm_every`` has passed since the last push (half an interval of slack)."""
    from loopsafe.runtime import heartbeat as heartbeat_module

    clock = [1000.0]
    monkeypatch.setattr(heartbeat_module, "_monotonic", lambda: clock[0])
    loop = asyncio.new_event_loop()
    try:
        beat = heartbeat_module.Heartbeat(loop, 0.01)
        alarm = _CountingAlarm()
        beat.set_alarm(alarm, 0.05, rearm_every)  # type: ignore[arg-type]
        for _ in range(20):  # 20 punctual ticks, 10 ms apart; not running: none re-scheduled
            clock[0] += 0.01
            beat._tick()
        assert alarm.pushes == pushes
    finally:
        loop.close()


@pytest.mark.parametrize(
    ("threshold", "rearm_every", "alarm_after"), [(0.05, 0.02, 0.03), (0.02, 0.01, 0.02)]
)
def test_the_alarm_goes_off_within_0_6_thresholds_and_never_on_a_punctual_loop(
    threshold: float, rearm_every: float, alarm_after: float
) -> None:
    from loopsafe.runtime.heartbeat import Heartbeat
    from loopsafe.runtime.watchdog import Watchdog

    loop = asyncio.new_event_loop()
    try:
        beat = Heartbeat(loop, 0.01)
        watchdog = Watchdog(
            beat, 0, threshold, min(0.02, threshold / 3), lambda task, frame: (None, None, None),
            lambda event: None, lambda lags: None,
        )  # fmt: skip
        try:
            assert beat.rearm_every == pytest.approx(rearm_every)
            assert beat.alarm_after == pytest.approx(alarm_after)
            # punctual ticks push it at most rearm_every + half an interval apart: it outlasts that
            assert beat.alarm_after > beat.rearm_every + beat.interval / 2
        finally:
            assert watchdog.alarm is not None
            watchdog.alarm.close()
    finally:
        loop.close()
