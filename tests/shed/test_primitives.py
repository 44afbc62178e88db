"""The concurrency primitives, on asyncio through anyio's pytest plugin."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

import anyio
import anyio.to_thread
import pytest

import loopsafe
from loopsafe._errors import ConfigError
from loopsafe.shed import (
    BoundedTaskGroup,
    Bulkhead,
    BulkheadFull,
    CpuPool,
    TaskTracker,
    bounded_gather,
    configure_threadpool,
    run_blocking,
)
from loopsafe.shed.offload import DEFAULT_BLOCKING_TOKENS, blocking_limiter
from tests.shed import cpu_work

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_top_level_exports_are_the_shed_ones() -> None:
    assert loopsafe.Bulkhead is Bulkhead
    assert loopsafe.run_blocking is run_blocking


async def test_bulkhead_caps_and_fails_fast() -> None:
    bulkhead = Bulkhead("db", limit=2, acquire_timeout=0.05)
    release = anyio.Event()
    inside = 0

    async def hold() -> None:
        nonlocal inside
        async with bulkhead:
            inside += 1
            await release.wait()

    async with anyio.create_task_group() as tg:
        tg.start_soon(hold)
        tg.start_soon(hold)
        await anyio.wait_all_tasks_blocked()
        assert inside == 2
        with pytest.raises(BulkheadFull, match=r"no slot within 0\.05 s"):
            async with bulkhead:
                pass
        release.set()
    stats = bulkhead.statistics()
    assert stats["in_use"] == 0 and stats["waiting"] == 0
    assert stats["acquired"] == 2 and stats["rejected"] == 1


async def test_bulkhead_does_not_wait_when_the_wait_would_be_too_long() -> None:
    bulkhead = Bulkhead("slow-api", limit=1, acquire_timeout=0.5)
    bulkhead._area, bulkhead._finished = 10.0, 1.0  # calls have held a slot 10 s on average
    async with bulkhead:
        started = time.monotonic()
        with pytest.raises(BulkheadFull, match="expected wait"):
            async with bulkhead:
                pass
        assert time.monotonic() - started < 0.5  # failed at once, without waiting


async def test_bulkhead_releases_on_error() -> None:
    bulkhead = Bulkhead("x", 1)
    with pytest.raises(ValueError):
        async with bulkhead:
            raise ValueError
    async with bulkhead:
        assert bulkhead.in_use == 1


async def test_bounded_gather_keeps_order_and_caps_concurrency() -> None:
    running = peak = 0

    async def job(i: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.001 * (i % 3))
        running -= 1
        return i * i

    assert await bounded_gather((job(i) for i in range(20)), limit=4) == [i * i for i in range(20)]
    assert peak == 4
    assert await bounded_gather([], limit=3) == []


async def test_bounded_gather_cancels_siblings_and_raises_the_error() -> None:
    cancelled = 0

    async def slow() -> None:
        nonlocal cancelled
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled += 1
            raise

    async def boom() -> None:
        await asyncio.sleep(0)
        raise KeyError("boom")

    aws = [slow(), boom(), slow(), slow(), slow()]  # the last two never start
    with pytest.raises(KeyError):
        await bounded_gather(aws, limit=3)
    assert cancelled == 2


async def test_bounded_task_group() -> None:
    running = peak = 0

    async def job() -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.001)
        running -= 1

    async with BoundedTaskGroup(3) as tg:
        for _ in range(10):
            tg.start_soon(job)
    assert peak == 3

    async def fail() -> None:
        raise ValueError("bad")

    with pytest.raises(ValueError, match="bad"):
        async with BoundedTaskGroup(2) as tg:
            tg.start_soon(fail)


async def test_run_blocking_uses_its_own_limiter() -> None:
    default = anyio.to_thread.current_default_thread_limiter()
    seen: list[float] = []

    def work(x: int, *, y: int) -> int:
        seen.append(default.borrowed_tokens)
        assert threading.current_thread() is not threading.main_thread()
        return x + y

    assert await run_blocking(work, 1, y=2) == 3
    assert seen == [0]  # no token of FastAPI's pool was taken
    assert blocking_limiter().total_tokens == DEFAULT_BLOCKING_TOKENS


async def test_configure_threadpool() -> None:
    default = anyio.to_thread.current_default_thread_limiter()
    before = default.total_tokens
    try:
        configure_threadpool(7, blocking_tokens=3)
        assert default.total_tokens == 7
        assert blocking_limiter().total_tokens == 3
    finally:
        configure_threadpool(before, blocking_tokens=DEFAULT_BLOCKING_TOKENS)
    with pytest.raises(ConfigError):
        configure_threadpool(0)


def test_configure_threadpool_needs_the_loop() -> None:
    with pytest.raises(ConfigError, match="running loop"):
        configure_threadpool(10)


async def test_cpu_pool_runs_in_another_process() -> None:
    async with CpuPool(workers=1) as pool:
        pid, total = await pool.run(cpu_work.pid_and_sum, 1000)
    assert total == sum(range(1000))
    import os

    assert pid != os.getpid()
    with pytest.raises(RuntimeError, match="started"):
        await pool.run(cpu_work.pid_and_sum, 1)


async def test_task_tracker_reports_and_drains(caplog: Any) -> None:
    tracker = TaskTracker()
    finished = asyncio.Event()

    async def quick() -> None:
        await asyncio.sleep(0.01)
        finished.set()

    async def forever() -> None:
        await asyncio.sleep(60)

    async def broken() -> None:
        raise RuntimeError("lost email")

    with caplog.at_level(logging.ERROR, logger="loopsafe.shed"):
        await asyncio.wait([tracker.spawn(broken(), name="broken")])
        tracker.spawn(quick())
        stuck = tracker.spawn(forever(), name="forever")
        assert len(tracker) == 2  # the failed task is no longer held
        result = await tracker.drain(0.2)
    assert result == {"finished": 1, "cancelled": 1}
    assert finished.is_set() and stuck.cancelled()
    assert tracker.failed == 1 and len(tracker) == 0
    assert "background task broken failed" in caplog.text
    coro = quick()
    with pytest.raises(RuntimeError, match="after drain"):
        tracker.spawn(coro)


async def test_task_tracker_on_error() -> None:
    errors: list[BaseException] = []
    tracker = TaskTracker(on_error=lambda task, exc: errors.append(exc))

    async def broken() -> None:
        raise ValueError("x")

    await asyncio.wait([tracker.spawn(broken())])
    assert [type(e) for e in errors] == [ValueError]
