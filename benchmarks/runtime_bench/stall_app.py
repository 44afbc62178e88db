"""An app whose routes block the event loop in known ways, at lines marked ``# culprit: <tag>``.

uvicorn builds it with ``--factory runtime_bench.stall_app:monitored`` (loopsafe installed,
threshold 50 ms) or ``:plain`` (no monitor: the asyncio debug-mode run). Each blocking route
returns how long it blocked, measured around the blocking call (``blocked_s``; the middleware
sends it in an ``x-blocked-s`` header). The slow TCP server's port and the big file's path come
from the environment; so does asyncio's debug mode (see ``asyncio_debug``).
"""

# Blocking the loop is the point of this module:
# ruff: noqa: ASYNC230, ASYNC251, SIM115

from __future__ import annotations

import asyncio
import gc
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request, Response
from starlette.middleware.base import BaseHTTPMiddleware

from runtime_bench import asyncio_debug, stall_helpers

SLOW_PORT_ENV = "LOOPSAFE_BENCH_SLOW_PORT"
BIG_FILE_ENV = "LOOPSAFE_BENCH_BIG_FILE"
SNAPSHOT_PATH = "/_loopsafe/bench/snapshot"  # under an exempt prefix: not a route figure
BLOCK_S = 0.12
GC_HEAP_OBJECTS = 4_000_000  # a full collection over them takes 80-100 ms here


class BlockingMiddleware(BaseHTTPMiddleware):
    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        blocked = None
        if request.url.path == "/middleware":
            start = time.perf_counter()
            time.sleep(BLOCK_S)  # culprit: middleware
            blocked = time.perf_counter() - start
        response = await call_next(request)
        if blocked is not None:
            response.headers["x-blocked-s"] = f"{blocked:.6f}"
        return response


async def blocking_dependency() -> float:
    start = time.perf_counter()
    time.sleep(BLOCK_S)  # culprit: dependency
    return time.perf_counter() - start


def _log_with_time() -> None:
    """asyncio's and loopsafe's warnings to stderr, each with its wall-clock time."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(created).6f %(name)s %(levelname)s %(message)s"))
    for name in ("asyncio", "loopsafe"):
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.setLevel(logging.WARNING)
        logger.propagate = False


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    asyncio_debug.configure()  # PYTHONASYNCIODEBUG and slow_callback_duration, for `plain`
    yield


def build() -> FastAPI:
    _log_with_time()
    app = FastAPI(lifespan=lifespan)
    # A big heap, as a long-running app has. Frozen (out of the collector's sight) except
    # during /gc, so that only that route's collections scan it.
    heap: list[list[int]] = [[] for _ in range(GC_HEAP_OBJECTS)]
    gc.freeze()
    app.add_middleware(BlockingMiddleware)

    @app.get("/json")
    async def json_route() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/clean")
    async def clean_route() -> dict[str, float]:
        await asyncio.sleep(0.1)
        return {"blocked_s": 0.0}

    @app.get("/sleep/{ms}")
    async def sleep_route(ms: int) -> dict[str, float]:
        start = time.perf_counter()
        time.sleep(ms / 1000)  # culprit: sleep
        return {"blocked_s": time.perf_counter() - start}

    @app.get("/cpu")
    async def cpu_route() -> dict[str, float]:
        start = time.perf_counter()
        deadline = time.thread_time() + 0.15  # 150 ms of CPU, however long a busy host makes it
        n = 0
        while time.thread_time() < deadline:  # culprit: cpu
            n += 1  # culprit: cpu
        return {"blocked_s": time.perf_counter() - start, "n": n}

    @app.get("/socket")
    async def socket_route() -> dict[str, float]:
        port = int(os.environ[SLOW_PORT_ENV])
        start = time.perf_counter()
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            conn.sendall(b"ping\n")
            conn.recv(64)  # culprit: socket
        return {"blocked_s": time.perf_counter() - start}

    @app.get("/file")
    async def file_route() -> dict[str, float]:
        start = time.perf_counter()
        data = open(os.environ[BIG_FILE_ENV], "rb").read()  # culprit: file
        return {"blocked_s": time.perf_counter() - start, "bytes": len(data)}

    @app.get("/helper")
    async def helper_route() -> dict[str, float]:
        return {"blocked_s": stall_helpers.crunch(BLOCK_S)}

    @app.get("/dependency")
    async def dependency_route(blocked: float = Depends(blocking_dependency)) -> dict[str, float]:
        return {"blocked_s": blocked}

    @app.get("/gc")
    async def gc_route() -> dict[str, float]:
        gc.unfreeze()
        start = time.perf_counter()
        gc.collect()  # culprit: gc
        blocked = time.perf_counter() - start
        gc.freeze()
        return {"blocked_s": blocked, "heap": len(heap)}

    @app.get("/middleware")
    async def middleware_route() -> dict[str, bool]:
        return {"ok": True}

    @app.get(SNAPSHOT_PATH)
    def snapshot() -> dict[str, Any]:  # a sync route: it runs in the thread pool, off the loop
        monitor = getattr(app.state, "loopsafe", None)
        return {
            "snapshot": monitor.snapshot() if monitor is not None else None,
            "threads": sorted(t.name for t in threading.enumerate()),
        }

    return app


def monitored() -> FastAPI:
    import loopsafe

    app = build()
    loopsafe.install(app, threshold_ms=50, max_events=10_000)
    return app


def plain() -> FastAPI:
    return build()
