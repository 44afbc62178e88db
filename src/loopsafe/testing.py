"""Test helpers: catch code that blocks the event loop, and prove that requests overlap.

``BlockDetector`` times every callback an asyncio loop runs (task steps included: asyncio runs all
of them through ``asyncio.Handle._run``), and a watchdog thread samples the stack of one that runs
long, so a stall is reported with the exact line, on whatever loop the test runs: pytest-asyncio's,
anyio's, or a uvicorn server's in a thread. uvloop runs callbacks in C and is not seen.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from loopsafe.runtime import stacks
from loopsafe.runtime.schedstat import ThreadClock

__all__ = ["BlockDetector", "ConcurrencyResult", "Stall", "assert_concurrent"]


@dataclass(frozen=True, slots=True)
class Stall:
    """One callback that held its loop for ``duration_s``, and where it was while it did."""

    duration_s: float
    thread: str
    culprit: stacks.Frame | None
    user_frame: stacks.Frame | None
    stack: tuple[stacks.Frame, ...]

    def describe(self) -> str:
        lines = [f"the event loop was blocked {self.duration_s * 1000:.0f} ms ({self.thread})"]
        where = self.user_frame or self.culprit
        if where is not None:
            code = where.to_json()["code"]
            lines.append(f"  at {where.path}:{where.line} in {where.function}")
            if code:
                lines.append(f"      {code}")
        if self.stack:
            lines.append("  stack, innermost last:")
            shown = [f for f in self.stack if stacks.is_app_frame(f.path)][-8:] or list(
                self.stack[-8:]
            )
            if self.culprit is not None and self.culprit not in shown:
                shown.append(self.culprit)
            lines.extend(f"    {f.path}:{f.line} {f.function}" for f in shown)
        return "\n".join(lines)


@dataclass
class _Running:
    started: float
    thread_id: int
    samples: list[tuple[stacks.Frame, ...]] = field(default_factory=list)
    native_id: int = 0
    # The thread's run-queue wait when the watchdog first saw the callback run long: a busy
    # host that kept the thread off the CPU is not the code's stall.
    waited_before: float | None = None


class BlockDetector:
    """Context manager: records every asyncio callback that runs longer than ``threshold`` s."""

    _active: BlockDetector | None = None
    _original: Any = None

    def __init__(self, threshold: float = 0.05) -> None:
        self.threshold = threshold
        self.stalls: list[Stall] = []
        self._running: dict[int, _Running] = {}
        self._clocks: dict[int, ThreadClock | None] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._watch, name="loopsafe-test-watchdog", daemon=True
        )

    def __enter__(self) -> BlockDetector:
        if BlockDetector._active is not None:
            raise RuntimeError("a BlockDetector is already active")
        BlockDetector._active = self
        BlockDetector._original = asyncio.events.Handle._run
        asyncio.events.Handle._run = _timed_run  # type: ignore[method-assign,assignment]
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.events.Handle._run = BlockDetector._original  # type: ignore[method-assign]
        BlockDetector._active = None
        self._stop.set()
        self._thread.join(timeout=2)
        for clock in self._clocks.values():
            if clock is not None:
                clock.close()

    def _watch(self) -> None:
        poll = min(0.01, self.threshold / 4)
        while not self._stop.wait(poll):
            now = time.perf_counter()
            for running in list(self._running.values()):
                if now - running.started > self.threshold / 2:
                    if running.waited_before is None:
                        running.waited_before = self._waited(running.native_id)
                    stack = stacks.sample(running.thread_id)
                    if stack:
                        running.samples.append(stack)

    def _waited(self, native_id: int) -> float:
        """Seconds thread ``native_id`` has spent runnable but without a CPU (0 off Linux)."""
        if native_id not in self._clocks:
            self._clocks[native_id] = ThreadClock.open(native_id)
        clock = self._clocks[native_id]
        reading = clock.read() if clock is not None else None
        return reading[1] if reading is not None else 0.0

    def _finished(self, running: _Running, duration: float) -> None:
        if running.waited_before is not None:
            starved = self._waited(running.native_id) - running.waited_before
            if duration - starved < self.threshold:
                return  # the host held the thread up, not the callback
        culprit = user = None
        stack: tuple[stacks.Frame, ...] = ()
        if running.samples:
            counts = Counter(s[-1] for s in running.samples)
            culprit = counts.most_common(1)[0][0]
            stack = next(s for s in running.samples if s[-1] == culprit)
            user = stacks.user_frame(stack)
        self.stalls.append(Stall(duration, threading.current_thread().name, culprit, user, stack))

    def report(self, where: str = "") -> str:
        """A failure message: every stall with its line and the app's frames."""
        head = f"loopsafe: {len(self.stalls)} stall(s) above {self.threshold * 1000:.0f} ms"
        head += f" in {where}" if where else ""
        return "\n".join([head, *(s.describe() for s in self.stalls)])


def _timed_run(handle: asyncio.Handle) -> None:
    detector = BlockDetector._active
    if detector is None:
        BlockDetector._original(handle)
        return
    ident = threading.get_ident()
    running = _Running(time.perf_counter(), ident, native_id=threading.get_native_id())
    detector._running[ident] = running
    try:
        BlockDetector._original(handle)
    finally:
        del detector._running[ident]
        duration = time.perf_counter() - running.started
        if duration >= detector.threshold:
            detector._finished(running, duration)


@dataclass(frozen=True, slots=True)
class ConcurrencyResult:
    """What ``assert_concurrent`` measured."""

    n: int
    single_s: float
    concurrent_s: float
    stalls: tuple[Stall, ...]

    @property
    def factor(self) -> float:
        """1.0: the n requests overlapped perfectly; n: they ran one after another."""
        return self.concurrent_s / self.single_s if self.single_s > 0 else float("inf")


async def assert_concurrent(
    target: Any,
    request: str = "GET /",
    *,
    n: int = 16,
    max_factor: float = 2.0,
    json: Any = None,
    headers: dict[str, str] | None = None,
    request_timeout: float = 30.0,
    threshold_ms: float = 20.0,
) -> ConcurrencyResult:
    """Fire ``n`` copies of ``request`` at once and fail when they serialize.

    ``target`` is an ASGI app (called in-process through httpx's ASGI transport) or the base URL of
    a server on 127.0.0.1. The serialization factor is the wall time of the n concurrent requests
    over the time of one (the best of three): 1.0 means perfect overlap, n full serialization.
    The failure names the stalls that caused it.
    """
    import httpx

    method, _, path = request.partition(" ")
    if not path:
        method, path = "GET", request
    if isinstance(target, str):
        client = httpx.AsyncClient(base_url=target, timeout=request_timeout)
    else:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=target),
            base_url="http://test",
            timeout=request_timeout,
        )
    async with client:

        async def once() -> None:
            response = await client.request(method, path, json=json, headers=headers)
            if response.status_code >= 500:
                raise AssertionError(
                    f"{request} answered {response.status_code}: {response.text[:200]}"
                )

        await once()  # warm-up: imports, connections, caches
        singles = []
        for _ in range(3):
            start = time.perf_counter()
            await once()
            singles.append(time.perf_counter() - start)
        single = min(singles)
        with BlockDetector(threshold_ms / 1000) as detector:
            start = time.perf_counter()
            await asyncio.gather(*(once() for _ in range(n)))
            concurrent = time.perf_counter() - start
    result = ConcurrencyResult(n, single, concurrent, tuple(detector.stalls))
    if result.factor > max_factor:
        culprits = Counter(
            f"{s.user_frame.path}:{s.user_frame.line}" if s.user_frame else "(unknown)"
            for s in detector.stalls
        )
        lines = [
            f"{n} concurrent `{request}` took {concurrent:.3f} s against {single:.3f} s for one: "
            f"serialization factor {result.factor:.1f} (at most {max_factor} allowed; 1.0 is perfect "
            f"overlap, {n} is one after another)"
        ]
        if culprits:
            lines.append("stalls during the concurrent run, by line:")
            lines.extend(f"  {count} x {where}" for where, count in culprits.most_common(5))
            lines.append(detector.stalls[0].describe())
        else:
            lines.append(
                "no event-loop stall seen: the requests wait on something shared (a lock, a pool)"
            )
        raise AssertionError("\n".join(lines))
    return result
