"""Stock levels from the warehouse's async API."""
import asyncio

from app.clients import stock_api


async def stock_level(sku: str) -> int:
    resp = await stock_api.get(f"/stock/{sku}")
    resp.raise_for_status()
    return int(resp.json()["available"])


async def stock_levels(skus: list[str]) -> dict[str, int]:
    # DON'T: one warehouse request per SKU, all at once: a 3,000-line B2B cart opens
    # 3,000 connections in one go and trips the warehouse's rate limit
    levels = await asyncio.gather(*[stock_level(sku) for sku in skus])
    return dict(zip(skus, levels, strict=True))
