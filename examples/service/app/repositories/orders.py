from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Order


async def for_user(session: AsyncSession, user_id: int) -> list[Order]:
    stmt = select(Order).where(Order.user_id == user_id).order_by(Order.id.desc())
    return list(await session.scalars(stmt))


async def sales_rows(session: AsyncSession) -> list[tuple[int, int, str]]:
    rows = await session.execute(
        select(Order.id, Order.total_cents, Order.created_at).order_by(Order.id)
    )
    return [(oid, total, created.date().isoformat()) for oid, total, created in rows]
