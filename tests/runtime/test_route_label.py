"""Route labels keep an included router's prefix (FastAPI >= 0.120 keeps the router's own route)."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import APIRouter, FastAPI, Request

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
