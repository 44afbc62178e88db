"""Route labels keep an included router's prefix (FastAPI >= 0.120 keeps the router's own route),
and every request is counted under its label."""

from __future__ import annotations

import asyncio
import warnings

import httpx
from fastapi import APIRouter, FastAPI, Request

import loopsafe
from loopsafe.runtime.monitor import route_label


def test_included_router_prefix_is_in_the_label() -> None:
    router = APIRouter()
    labels: list[str] = []

    @router.get("/{sku}/offers")
    async def offers(sku: str, request: Request) -> dict[str, str]:
        labels.append(route_label(request.scope))
        return {}

    app = FastAPI()
    app.include_router(router, prefix="/products")

    async def main() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            await client.get("/products/KB-101/offers")

    asyncio.run(main())
    assert labels == ["GET /products/{sku}/offers"]


def test_requests_on_other_loops_still_count() -> None:
    """TestClient without ``with`` runs each request on a new loop; none may go uncounted."""
    with warnings.catch_warnings():  # starlette's TestClient warns about its httpx
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    app = FastAPI()
    monitor = loopsafe.install(app, prometheus=False)

    @app.get("/x")
    async def x() -> dict[str, bool]:
        return {"ok": True}

    client = TestClient(app)
    try:
        for _ in range(3):
            assert client.get("/x").status_code == 200
        assert monitor.snapshot()["routes"]["GET /x"]["requests"] == 3
    finally:
        monitor.stop()
