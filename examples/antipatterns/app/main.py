"""Application setup: lifespan, middleware, routers and error handling."""
import asyncio
import subprocess
import sys
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from app.clients import UpstreamError, cache, order_events, payments, stock_api, webhooks
from app.routers import orders, products, reports, uploads, users
from app.services import price_feed
from app.services.rates import refresh_rates_forever
from app.settings import settings


@asynccontextmanager
async def lifespan(app: FastAPI):
    # DON'T: subprocess.run waits for the migrations on the loop; run them before the
    # server starts (or at least in a thread)
    subprocess.run([sys.executable, "-m", "app.migrate"], check=True)
    price_feed.start()
    rates_refresher = asyncio.create_task(refresh_rates_forever())
    yield
    rates_refresher.cancel()
    await payments.aclose()
    await stock_api.aclose()
    await webhooks.aclose()
    await order_events.aclose()


class RateLimitMiddleware(BaseHTTPMiddleware):
    def __init__(self, app: ASGIApp, limit_per_minute: int = 120) -> None:
        super().__init__(app)
        self.limit = limit_per_minute

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        key = f"ratelimit:{request.client.host if request.client else 'unknown'}"
        # DON'T: a synchronous Redis INCR on every single request, inside the middleware
        hits = cache.incr(key)
        if hits == 1:
            # DON'T: and another blocking round-trip to start the window
            cache.expire(key, 60)
        if hits > self.limit:
            return JSONResponse({"detail": "rate limit exceeded"}, status_code=429)
        return await call_next(request)


class MaintenanceMiddleware:
    """Pure ASGI middleware: answers 503 while the maintenance flag file exists."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            try:
                # DON'T: reads the flag file from disk on every request, on the loop
                notice = Path(settings.maintenance_flag).read_text()
            except FileNotFoundError:
                notice = None
            if notice is not None:
                response = PlainTextResponse(notice or "Down for maintenance", status_code=503)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


app = FastAPI(title="Shop API", version="1.4.0", lifespan=lifespan)
app.add_middleware(RateLimitMiddleware, limit_per_minute=settings.rate_limit_per_minute)
app.add_middleware(MaintenanceMiddleware)

app.include_router(products.router, prefix="/products", tags=["products"])
app.include_router(users.router, prefix="/users", tags=["users"])
app.include_router(orders.router, prefix="/orders", tags=["orders"])
app.include_router(reports.router, prefix="/reports", tags=["reports"])
app.include_router(uploads.router, prefix="/uploads", tags=["uploads"])


@app.exception_handler(UpstreamError)
async def upstream_error_handler(request: Request, exc: UpstreamError) -> JSONResponse:
    text = f":warning: {exc.service} failed on {request.url.path}: {exc.detail}"
    # DON'T: the sync httpx.post to Slack runs inside an async exception handler
    httpx.post(settings.slack_webhook, json={"text": text}, timeout=3)
    return JSONResponse({"detail": f"upstream {exc.service} unavailable"}, status_code=502)


@app.get("/")
async def root() -> dict:
    return {"service": "shop-api", "docs": "/docs"}


async def healthz() -> dict:
    # DON'T: PING with the sync Redis client blocks the loop
    ok = cache.ping()
    return {"status": "ok" if ok else "degraded"}


app.get("/healthz")(healthz)
