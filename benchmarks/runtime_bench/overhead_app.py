"""The apps of the overhead benchmark: one trivial JSON route, instrumented four ways.

uvicorn builds them with ``--factory runtime_bench.overhead_app:<name>``; the asyncio-debug
variant is ``bare`` with ``PYTHONASYNCIODEBUG=1`` in the environment (see ``asyncio_debug``).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from runtime_bench import asyncio_debug


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    asyncio_debug.configure()  # every variant: only PYTHONASYNCIODEBUG=1 makes it do anything
    yield


def bare() -> FastAPI:
    app = FastAPI(lifespan=lifespan)

    @app.get("/json")
    async def json_route() -> dict[str, object]:
        return {"ok": True, "service": "bench", "items": [1, 2, 3]}

    return app


def _timing() -> dict[str, Any]:
    """The monitor's defaults, stretched when valgrind slows the server (``instructions.py``):
    its per-second work then weighs per request what it weighs natively."""
    slowdown = float(os.environ.get(asyncio_debug.SLOWDOWN_ENV) or 1)
    if slowdown == 1:
        return {}
    return {"interval_ms": 10 * slowdown, "threshold_ms": 50 * slowdown}


def loopsafe_no_prometheus() -> FastAPI:
    import loopsafe

    app = bare()
    loopsafe.install(app, prometheus=False, **_timing())
    return app


def loopsafe_prometheus() -> FastAPI:
    import loopsafe

    app = bare()
    # prometheus_client is installed: the Prometheus sink is on
    loopsafe.install(app, **_timing())
    return app


def instrumentator() -> FastAPI:
    from prometheus_fastapi_instrumentator import Instrumentator

    app = bare()
    Instrumentator().instrument(app)
    return app


# The parts of the monitor's cost (``monitor_side_by_side.py --variants ...``): an ASGI layer
# that does nothing, then the monitor with every path exempt (the layer, the heartbeat and the
# watchdog, no per-request work); ``loopsafe_no_prometheus`` less this is the per-request work.


class _PassThrough:
    """A pure ASGI middleware that only calls the app: the floor for any middleware."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


def passthrough() -> FastAPI:
    app = bare()
    app.add_middleware(_PassThrough)
    return app


def loopsafe_exempt() -> FastAPI:
    import loopsafe

    app = bare()
    loopsafe.install(app, prometheus=False, exempt=("/",), **_timing())
    return app
