"""Catalogue, price comparison across partners, and a live price stream (SSE)."""

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clients import UpstreamError, fetch_all_offers
from app.db import Product
from app.deps import CurrentUser, SessionDep, UpstreamsDep
from app.metrics import DEGRADED, SSE_STREAMS
from app.repositories import products as repo
from app.services.pricing import convert
from app.settings import settings

router = APIRouter()


class ProductIn(BaseModel):
    sku: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=200)
    price_cents: int = Field(gt=0)


class ProductOut(ProductIn):
    id: int


@router.get("", response_model=list[ProductOut])
async def list_products(session: SessionDep, limit: int = 50, offset: int = 0) -> list[Product]:
    return await repo.list_products(session, min(limit, 200), offset)


@router.post("", response_model=ProductOut, status_code=status.HTTP_201_CREATED)
async def create_product(body: ProductIn, session: SessionDep, _: CurrentUser) -> Product:
    product = Product(**body.model_dump())
    session.add(product)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise HTTPException(status.HTTP_409_CONFLICT, "sku already exists") from None
    return product


@router.get("/{product_id}", response_model=ProductOut)
async def get_product(product_id: int, session: SessionDep) -> Product:
    product = await session.get(Product, product_id)
    if product is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "product not found")
    return product


@router.get("/{sku}/offers")
async def compare_offers(sku: str, upstreams: UpstreamsDep) -> dict:
    offers, errors = await fetch_all_offers(upstreams, sku)
    if errors:
        DEGRADED.labels("GET /products/{sku}/offers").inc()
    best = min(offers, key=lambda o: o.get("price_cents", float("inf")), default=None)
    return {"sku": sku, "best": best, "offers": offers, "errors": errors}


@router.get("/{product_id}/price")
async def price_in_currency(
    product_id: int, request: Request, session: SessionDep, upstreams: UpstreamsDep,
    currency: str = "EUR",
) -> dict:  # fmt: skip
    product = await session.get(Product, product_id)
    if product is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "product not found")
    code = currency.upper()
    if code == "EUR":
        return {"product_id": product_id, "currency": "EUR", "price_cents": product.price_cents}
    stale = False
    try:
        rates = (await upstreams.get_json("rates", settings.rates_url, base="EUR"))["rates"]
    except (UpstreamError, KeyError, TypeError):
        # Degrade: the rates the background refresher last fetched.
        rates, stale = request.app.state.rates, True
        DEGRADED.labels("GET /products/{product_id}/price").inc()
    rate = rates.get(code)
    if rate is None:
        raise HTTPException(422, f"no rate for currency {code}")
    price = convert(product.price_cents, float(rate))
    return {"product_id": product_id, "currency": code, "price_cents": price, "stale": stale}


async def _price_events(
    request: Request, sessionmaker: async_sessionmaker[AsyncSession], product_id: int
) -> AsyncIterator[str]:
    SSE_STREAMS.inc()
    try:
        while not await request.is_disconnected():
            async with sessionmaker() as session:
                product = await session.get(Product, product_id)
            price = None if product is None else product.price_cents
            yield f"data: {json.dumps({'product_id': product_id, 'price_cents': price})}\n\n"
            await asyncio.sleep(settings.sse_interval)
    finally:
        # Runs when the client disconnects (the loop ends or the generator is cancelled).
        SSE_STREAMS.dec()


@router.get("/{product_id}/price/stream")
async def price_stream(product_id: int, request: Request) -> StreamingResponse:
    events = _price_events(request, request.app.state.sessionmaker, product_id)
    return StreamingResponse(events, media_type="text/event-stream")
