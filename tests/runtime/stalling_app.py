"""An app whose routes stall the loop in known ways, at known lines (marked `# culprit:`)."""

from __future__ import annotations

import asyncio
import gc
import time
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request

from tests.runtime import slow_helpers

STARTUP_STALL_S = 0.12


@asynccontextmanager
async def lifespan(app: FastAPI) -> Any:
    time.sleep(STARTUP_STALL_S)  # culprit: lifespan
    yield


def build(**options: Any) -> tuple[FastAPI, Any]:
    import loopsafe

    app = FastAPI(lifespan=lifespan)
    monitor = loopsafe.install(app, **options)

    @app.middleware("http")
    async def slow_middleware(request: Request, call_next: Any) -> Any:
        if request.url.path == "/middleware":
            time.sleep(0.12)  # culprit: middleware
        return await call_next(request)

    async def blocking_dependency() -> int:
        time.sleep(0.12)  # culprit: dependency
        return 1

    @app.get("/sleep/{ms}")
    async def sleep_route(ms: int) -> dict[str, int]:
        time.sleep(ms / 1000)  # culprit: sleep
        return {"slept": ms}

    @app.get("/cpu")
    async def cpu_route() -> dict[str, int]:
        # 150 ms of CPU (not of wall time): on a busy host it takes longer, and stays a stall.
        deadline = time.thread_time() + 0.15
        n = 0
        while time.thread_time() < deadline:  # culprit: cpu
            n += 1
        return {"n": n}

    @app.get("/helper")
    async def helper_route() -> dict[str, float]:
        return {"x": slow_helpers.crunch(0.12)}

    @app.get("/dependency")
    async def dependency_route(x: int = Depends(blocking_dependency)) -> dict[str, int]:
        return {"x": x}

    async def blocking_part() -> int:
        time.sleep(0.12)  # culprit: spawned
        return 1

    @app.get("/gather")
    async def gather_route() -> dict[str, int]:
        # The stall is in a task of its own: found through the gather that waits for it.
        results = await asyncio.gather(asyncio.sleep(0.01), blocking_part())
        return {"x": results[1]}

    @app.get("/taskgroup")
    async def taskgroup_route() -> dict[str, int]:
        async with asyncio.TaskGroup() as group:
            part = group.create_task(blocking_part())
        return {"x": part.result()}

    @app.get("/awaited-task")
    async def awaited_task_route() -> dict[str, int]:
        return {"x": await asyncio.create_task(blocking_part())}

    @app.get("/gc")
    async def gc_route() -> dict[str, int]:
        return {"freed": gc.collect()}  # culprit: gc

    @app.get("/wait/{ms}")
    async def wait_route(ms: int) -> dict[str, int]:
        await asyncio.sleep(ms / 1000)
        return {"waited": ms}

    @app.get("/middleware")
    async def middleware_route() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/clean")
    async def clean_route() -> dict[str, bool]:
        await asyncio.sleep(0.05)
        return {"ok": True}

    @app.get("/sync")
    def sync_route() -> dict[str, bool]:
        time.sleep(0.2)  # in the thread pool: not a stall
        return {"ok": True}

    return app, monitor
