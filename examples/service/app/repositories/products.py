from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Product


async def list_products(session: AsyncSession, limit: int, offset: int) -> list[Product]:
    stmt = select(Product).order_by(Product.id).limit(limit).offset(offset)
    return list(await session.scalars(stmt))


async def prices_for(session: AsyncSession, skus: list[str]) -> dict[str, int]:
    rows = await session.execute(
        select(Product.sku, Product.price_cents).where(Product.sku.in_(skus))
    )
    return {sku: price for sku, price in rows}
