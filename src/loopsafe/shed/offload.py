"""Offloading: blocking I/O to threads on loopsafe's own limiter, CPU work to a process pool.

FastAPI's sync routes, ``run_in_threadpool`` and anyio's ``to_thread.run_sync`` share one limiter
of 40 tokens per loop. Blocking calls made through ``run_blocking`` take tokens from a separate
limiter, so a slow dependency cannot use up the tokens the sync routes need.
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import os
import weakref
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from types import TracebackType
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from loopsafe._errors import ConfigError

T = TypeVar("T")
DEFAULT_BLOCKING_TOKENS = 16
_blocking_tokens = DEFAULT_BLOCKING_TOKENS
# One limiter per event loop: anyio limiters belong to the loop that first uses them.
_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = (
    weakref.WeakKeyDictionary()
)


def blocking_limiter() -> anyio.CapacityLimiter:
    """The limiter ``run_blocking`` uses on the running loop (created on first use)."""
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = _limiters[loop] = anyio.CapacityLimiter(_blocking_tokens)
    return limiter


async def run_blocking(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run blocking ``fn(*args, **kwargs)`` in a worker thread and await its result.

    At most ``blocking_tokens`` (16 by default, see ``configure_threadpool``) run at once; the
    others wait for a token without holding one of the default pool's. As with anyio, a
    cancelled caller still waits for the thread to finish (a thread cannot be interrupted).
    """
    if kwargs:
        fn = functools.partial(fn, **kwargs)
    return await anyio.to_thread.run_sync(fn, *args, limiter=blocking_limiter())


def configure_threadpool(tokens: int | None = None, *, blocking_tokens: int | None = None) -> None:
    """Size the thread pools of the running loop; call it in the app's lifespan.

    Args:
        tokens: tokens of anyio's default limiter, the one FastAPI's sync routes,
            dependencies and ``run_in_threadpool`` share (anyio's default is 40).
        blocking_tokens: tokens of ``run_blocking``'s own limiter (default 16).
    """
    for value, option in ((tokens, "tokens"), (blocking_tokens, "blocking_tokens")):
        if value is not None and not 1 <= value <= 10_000:
            raise ConfigError(
                f"configure_threadpool({option}=) must be between 1 and 10000, got {value}"
            )
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        raise ConfigError(
            "configure_threadpool() must be called on the running loop (in the app's lifespan)"
        ) from None
    if tokens is not None:
        anyio.to_thread.current_default_thread_limiter().total_tokens = tokens
    if blocking_tokens is not None:
        global _blocking_tokens
        _blocking_tokens = blocking_tokens
        blocking_limiter().total_tokens = blocking_tokens


class CpuPool:
    """A process pool for CPU-bound work, started and stopped with the app's lifespan.

    .. code-block:: python

        @asynccontextmanager
        async def lifespan(app):
            async with loopsafe.CpuPool(workers=2) as pool:
                app.state.cpu = pool
                yield

        result = await request.app.state.cpu.run(resize, image_bytes)

    Workers are started with ``spawn`` by default: forking a process that runs threads (the
    monitor's watchdog, anyio's workers) can deadlock the child. ``fn`` and its arguments must
    be picklable (a module-level function). At most ``workers`` calls run at once; the others
    wait in the pool's queue.

    Args:
        workers: processes (default: the CPUs this process may use, minus one, at least 1).
        mp_context: a ``multiprocessing`` start method name (default ``"spawn"``).
    """

    def __init__(self, workers: int | None = None, *, mp_context: str = "spawn") -> None:
        if workers is None:
            usable = (
                len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
            )
            workers = max(1, (usable or 1) - 1)
        if workers < 1:
            raise ConfigError(f"CpuPool(workers=) must be at least 1, got {workers}")
        self.workers = workers
        self.mp_context = mp_context
        self._executor: ProcessPoolExecutor | None = None

    async def __aenter__(self) -> CpuPool:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def start(self) -> None:
        """Create the pool (its processes start on the first calls)."""
        if self._executor is None:
            context = multiprocessing.get_context(self.mp_context)
            self._executor = ProcessPoolExecutor(self.workers, mp_context=context)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` in a worker process and await its result."""
        if self._executor is None:
            raise RuntimeError("CpuPool.run() needs the pool started (async with CpuPool())")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, *args)

    async def aclose(self) -> None:
        """Stop the pool: queued calls are cancelled, running ones finish, processes are joined
        in a thread so the loop stays free."""
        executor, self._executor = self._executor, None
        if executor is not None:
            await anyio.to_thread.run_sync(
                functools.partial(executor.shutdown, wait=True, cancel_futures=True)
            )
