"""Application setup: lifespan-scoped resources, middleware, routers, error handling."""

import asyncio
import logging
import multiprocessing
import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager

import anyio.to_thread
import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import loopsafe
from app import metrics
from app.clients import UpstreamError, Upstreams
from app.concurrency import TaskTracker
from app.db import init_db
from app.routers import orders, products, reports, uploads, users
from app.services.rates import refresh_rates_forever
from app.settings import VAR, settings

log = logging.getLogger(__name__)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Room for sync routes, dependencies and to_thread() calls (AnyIO's default is 40).
    anyio.to_thread.current_default_thread_limiter().total_tokens = settings.thread_limit
    await anyio.Path(VAR).mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(settings.database_url, pool_pre_ping=True)
    sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    await init_db(engine, sessionmaker)
    app.state.engine = engine
    app.state.sessionmaker = sessionmaker
    # One client for the whole process: pooled connections, and a timeout on every call.
    # Built in a thread: loading the CA bundle for its SSL context takes ~100 ms of disk I/O.
    # Every pooled connection is kept alive: a burst that fans out to each partner needs more
    # than httpx's default 20, and re-opening the rest on every burst slowed it (the probe
    # measured the offers route at 1.31 times its ideal with 20, 1.19-1.20 with 100).
    app.state.http = await asyncio.to_thread(
        httpx.AsyncClient,
        timeout=httpx.Timeout(settings.http_timeout),
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=100),
    )
    app.state.upstreams = Upstreams(app.state.http)
    app.state.process_pool = ProcessPoolExecutor(
        max_workers=settings.report_workers, mp_context=multiprocessing.get_context("spawn")
    )
    app.state.rates = {"EUR": 1.0}
    app.state.tasks = TaskTracker()
    app.state.tasks.spawn(refresh_rates_forever(app), name="rates-refresher", daemon=True)
    try:
        yield
    finally:
        # Background work first (it may still use the client and the database), then the rest.
        await app.state.tasks.drain(settings.drain_timeout)
        await app.state.http.aclose()
        await asyncio.to_thread(app.state.process_pool.shutdown, wait=True, cancel_futures=True)
        await engine.dispose()
        log.info("shutdown complete: tasks drained, client, process pool and engine closed")


class RequestContextMiddleware:
    """Pure ASGI middleware: request id and server timing headers, no blocking."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming[:64] or uuid.uuid4().hex
        started = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.append("x-request-id", request_id)
                headers.append(
                    "server-timing", f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
                )
            await send(message)

        await self.app(scope, receive, send_with_headers)


app = FastAPI(title="Shop API (async done right)", version="1.0.0", lifespan=lifespan)
app.add_middleware(RequestContextMiddleware)

app.include_router(products.router, prefix="/products", tags=["products"])
app.include_router(users.router, prefix="/users", tags=["users"])
app.include_router(orders.router, prefix="/orders", tags=["orders"])
app.include_router(reports.router, prefix="/reports", tags=["reports"])
app.include_router(uploads.router, prefix="/uploads", tags=["uploads"])


@app.exception_handler(UpstreamError)
async def upstream_error_handler(request: Request, exc: UpstreamError) -> JSONResponse:
    return JSONResponse(
        {"detail": f"upstream {exc.service} unavailable", "reason": exc.detail},
        status_code=exc.status_code,
    )


@app.get("/healthz")
def healthz() -> dict:
    return {"status": "ok"}


@app.get("/readyz")
async def readyz(request: Request) -> dict:
    async with request.app.state.sessionmaker() as session:
        await session.execute(text("SELECT 1"))
    return {"status": "ready"}


@app.get("/metrics")
def prometheus_metrics() -> Response:
    # A sync route: in multi-process mode the collector reads every worker's files.
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)


# loopsafe: the event-loop monitor (stalls with their culprit lines, exported to /metrics),
# adaptive load shedding (503 + Retry-After before latency collapses; /metrics, /healthz and the
# dashboard are never shed) and the live dashboard at /_loopsafe, for this machine's clients or
# anyone with LOOPSAFE_DASHBOARD_TOKEN.
monitor = loopsafe.install(
    app,
    shed=settings.shed_policy or None,
    dashboard=True,
    dashboard_allow=("127.0.0.1", "::1"),
)
