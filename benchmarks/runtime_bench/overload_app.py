"""The app of the overload benchmark: a realistic handler, shed four ways.

``GET /work`` awaits a 20 ms "downstream" call and then spends about 2 ms of CPU (measured as
thread CPU time, so the work is the same however the server is scheduled). uvicorn builds the
variants with ``--factory runtime_bench.overload_app:<name>``; uvicorn's own
``--limit-concurrency`` runs the ``bare`` app.
"""

from __future__ import annotations

import asyncio
import time

from fastapi import FastAPI

DOWNSTREAM_S = 0.020
CPU_S = 0.002
STATIC_LIMIT = 16  # a hand-picked value, as a user of a static limit would pick one


def burn(seconds: float) -> None:
    end = time.thread_time() + seconds
    x = 0
    while time.thread_time() < end:
        for i in range(200):
            x += i * i


def bare() -> FastAPI:
    app = FastAPI()

    @app.get("/work")
    async def work() -> dict[str, bool]:
        await asyncio.sleep(DOWNSTREAM_S)  # the downstream call
        burn(CPU_S)  # serialising the answer, validation, business logic
        return {"ok": True}

    return app


def _shed(policy: object) -> FastAPI:
    import loopsafe

    app = bare()
    monitor = loopsafe.install(app, shed=policy)

    @app.get("/_loopsafe/shed")  # exempt from shedding: the benchmark reads the end state
    def shed_state() -> object:
        return monitor.snapshot()["shed"]

    return app


def static() -> FastAPI:
    from loopsafe.shed import Static

    return _shed(Static(max_in_flight=STATIC_LIMIT))


def adaptive() -> FastAPI:
    return _shed("adaptive")


def lag() -> FastAPI:
    return _shed("lag")
