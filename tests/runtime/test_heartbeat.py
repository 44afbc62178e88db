"""The heartbeat on the selector's iterations: an idle loop is left asleep, a stall is measured
whole, and the selector is given back as it was."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from loopsafe.runtime.heartbeat import Heartbeat
from loopsafe.runtime.monitor import Monitor


def counting_selector(loop: asyncio.AbstractEventLoop) -> tuple[Any, list[int]]:
    """Wrap the loop's select with a counter (before the heartbeat wraps it in turn)."""
    selector: Any = loop._selector  # type: ignore[attr-defined]
    inner = selector.select
    calls = [0]

    def select(timeout: float | None = None) -> Any:
        calls[0] += 1
        return inner(timeout)

    selector.select = select
    return selector, calls


@pytest.mark.parametrize("iterations", [True, False])
def test_an_idle_loop_is_woken_only_by_the_timer(
    iterations: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Heartbeat, "use_iterations", iterations)

    async def main() -> tuple[int, float, bool]:
        loop = asyncio.get_running_loop()
        _, calls = counting_selector(loop)
        heartbeat = Heartbeat(loop, 0.01)
        heartbeat.start()
        await asyncio.sleep(0.5)  # one timer of its own: one wake-up without the heartbeat's
        # Read from a thread once the loop has gone back to sleep in select.
        stuck = await asyncio.to_thread(lambda: (time.sleep(0.1), heartbeat.stuck_for())[1])
        on_iterations = heartbeat.on_iterations
        heartbeat.stop()
        return calls[0], stuck, on_iterations

    calls, stuck, on_iterations = asyncio.run(main())
    assert on_iterations is iterations
    if iterations:
        assert calls <= 6, calls  # the sleep, the thread's result: a handful of iterations
        assert stuck == 0.0
    else:
        assert calls >= 25, calls  # the timer wakes it every 10 ms


def test_a_stall_is_measured_whole() -> None:
    async def main() -> list[dict[str, Any]]:
        monitor = Monitor(prometheus=False, log_stalls=False, threshold_ms=50)
        monitor.start()
        assert monitor.heartbeat is not None and monitor.heartbeat.on_iterations
        await asyncio.sleep(0.05)
        time.sleep(0.12)  # noqa: LS101 - the stall under test
        await asyncio.sleep(0.3)  # the watchdog reports once the loop is free again
        monitor.stop()
        return list(monitor.snapshot()["stalls"])

    stalls = asyncio.run(main())
    assert len(stalls) == 1
    # The stalled iteration's own length: never short of the block (a timer's lateness reads
    # up to one interval short), and nothing like a second one.
    assert 0.12 <= stalls[0]["duration_s"] < 0.2


def test_stop_gives_the_selector_back() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        selector: Any = loop._selector  # type: ignore[attr-defined]
        heartbeat = Heartbeat(loop, 0.01)
        heartbeat.start()
        assert "select" in selector.__dict__
        heartbeat.stop()
        assert "select" not in selector.__dict__  # the class's method again

        # Something that wrapped it meanwhile keeps it: the heartbeat's layer passes through.
        _, calls = counting_selector(loop)
        own = selector.select
        heartbeat = Heartbeat(loop, 0.01)
        heartbeat.start()
        _, outer = counting_selector(loop)
        heartbeat.stop()
        assert selector.__dict__["select"] is not own  # the outer wrapper stayed
        await asyncio.sleep(0.02)  # the loop still runs through all three layers
        assert outer[0] > 0 and calls[0] > 0
        assert not heartbeat.idle and heartbeat.stuck_for() == 0.0

    asyncio.run(main())


def test_an_idle_loop_shows_as_zero_lag_in_the_series() -> None:
    async def main() -> dict[str, Any]:
        monitor = Monitor(prometheus=False, log_stalls=False)
        monitor.start()
        await asyncio.sleep(1.2)  # idle: no lag samples, but the seconds are there as zeros
        snapshot = monitor.snapshot()
        monitor.stop()
        return snapshot

    snapshot = asyncio.run(main())
    assert snapshot["lag_series"], snapshot
    assert all(lag == 0.0 for _, lag in snapshot["lag_series"])


def test_a_failing_tick_function_never_stops_the_loop(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> int:
        loop = asyncio.get_running_loop()
        heartbeat = Heartbeat(loop, 0.01)
        calls = [0]

        def broken() -> None:
            calls[0] += 1
            raise RuntimeError("boom")

        heartbeat.every_tick(broken)
        heartbeat.start()
        for _ in range(10):  # the loop keeps turning through the heartbeat
            await asyncio.sleep(0.02)
        heartbeat.stop()
        return calls[0]

    assert asyncio.run(main()) == 1  # called once, logged, dropped
    assert "no longer called" in caplog.text
