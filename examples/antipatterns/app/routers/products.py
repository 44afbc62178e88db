"""Product catalogue and price comparison."""
import asyncio
import json
from time import sleep as pause

import requests as rq
from fastapi import APIRouter, Depends, HTTPException, WebSocket, WebSocketDisconnect
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from app.clients import cache, pricing_client
from app.concurrency import run_blocking
from app.db import Product, SessionLocal, get_db
from app.repositories.products import ProductRepo
from app.services.catalog import get_product_dict, to_dict, upsert_products
from app.services.price_feed import latest_prices
from app.services.rates import convert, fetch_exchange_rates, rates_cache, rates_lock
from app.settings import settings

router = APIRouter()


@router.get("")
def list_products(limit: int = 50, offset: int = 0, db: Session = Depends(get_db)) -> list[dict]:
    # Fine: a plain "def" route runs in FastAPI's thread pool, so the sync Session is OK here.
    return [to_dict(p) for p in ProductRepo(db).list(limit, offset)]


@router.get("/search")
async def search_products(q: str) -> list[dict]:
    s = SessionLocal()
    try:
        # DON'T: a Session from the sync sessionmaker runs the query on the event loop
        rows = s.query(Product).filter(Product.name.ilike(f"%{q}%")).limit(50).all()
    finally:
        # DON'T: closing the Session resets its connection (a ROLLBACK round-trip)
        s.close()
    return [to_dict(p) for p in rows]


@router.get("/{product_id}")
async def get_product(product_id: int) -> dict:
    key = f"product:{product_id}"
    # DON'T: redis.Redis is the synchronous client; even a cache hit is a blocking round-trip
    cached = cache.get(key)
    if cached is not None:
        return json.loads(cached)
    # Fine: the sync database lookup runs in a worker thread via the offload helper.
    data = await run_blocking(get_product_dict, product_id)
    if data is None:
        raise HTTPException(404, "product not found")
    # DON'T: writing back to the cache with the sync client blocks as well
    cache.set(key, json.dumps(data), ex=300)
    return data


@router.get("/{sku}/offers")
async def compare_offers(sku: str) -> dict:
    # DON'T: requests (imported as rq) is synchronous; the partner call blocks the loop
    partner = rq.get(f"{settings.partner_url}/offers/{sku}", timeout=5)
    partner.raise_for_status()
    # DON'T: pricing_client is a module-level PricingClient whose fetch_offers() uses a
    # requests.Session internally, so this call blocks the loop too
    internal = pricing_client.fetch_offers(sku)
    offers = partner.json()["offers"] + internal
    if not offers:
        raise HTTPException(404, "no offers")
    return {"sku": sku, "best": min(offers, key=lambda o: o["price"]), "offers": offers}


@router.get("/{sku}/price")
async def price_in_currency(sku: str, currency: str = "EUR") -> dict:
    if sku not in latest_prices:
        raise HTTPException(404, "no price for this sku yet")
    rates = await fetch_exchange_rates()
    # Not flagged: the lock only guards an in-memory dict update, held for microseconds.
    with rates_lock:
        rates_cache.update(rates)
    return {"sku": sku, "currency": currency, "price": str(convert(latest_prices[sku], currency))}


@router.get("/{sku}/price/stream")
async def price_stream(sku: str) -> StreamingResponse:
    async def events():
        # DON'T: never ends and never checks request.is_disconnected(): the generator keeps
        # running after the browser tab is closed, until a send happens to fail
        while True:
            price = latest_prices.get(sku)
            yield f"data: {{\"sku\": \"{sku}\", \"price\": \"{price}\"}}\n\n"
            await asyncio.sleep(1)

    return StreamingResponse(events(), media_type="text/event-stream")


@router.post("/import")
async def import_catalog() -> dict:
    # DON'T: open() on the event loop; the catalogue export is tens of megabytes
    with open(settings.catalog_path, encoding="utf-8") as f:
        # DON'T: json.load reads and parses the whole file synchronously
        catalog = json.load(f)
    count = await run_blocking(upsert_products, catalog["products"])
    return {"imported": count}


@router.websocket("/ws/{sku}")
async def price_ticker(websocket: WebSocket, sku: str) -> None:
    await websocket.accept()
    try:
        while True:
            price = latest_prices.get(sku)
            await websocket.send_json({"sku": sku, "price": None if price is None else str(price)})
            # DON'T: time.sleep (imported as "pause") freezes the loop and every other socket
            pause(2)
    except WebSocketDisconnect:
        return
