"""Catalogue and price comparison."""

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError

from app.clients import fetch_all_offers, get_json
from app.db import Product
from app.deps import CurrentUser, HttpDep, SessionDep
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
async def compare_offers(sku: str, request: Request, http: HttpDep) -> dict:
    offers, errors = await fetch_all_offers(http, request.app.state.upstream_limit, sku)
    best = min(offers, key=lambda o: o.get("price_cents", float("inf")), default=None)
    return {"sku": sku, "best": best, "offers": offers, "errors": errors}


@router.get("/{product_id}/price")
async def price_in_currency(
    product_id: int, session: SessionDep, http: HttpDep, currency: str = "EUR"
) -> dict:
    product = await session.get(Product, product_id)
    if product is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "product not found")
    if currency.upper() == "EUR":
        return {"product_id": product_id, "currency": "EUR", "price_cents": product.price_cents}
    rates = await get_json(http, "rates", settings.rates_url, base="EUR")
    rate = rates.get("rates", {}).get(currency.upper())
    if rate is None:
        raise HTTPException(422, f"unknown currency {currency}")
    price = convert(product.price_cents, rate)
    return {"product_id": product_id, "currency": currency.upper(), "price_cents": price}
