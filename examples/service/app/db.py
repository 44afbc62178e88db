"""Async SQLAlchemy 2 models, schema creation and seed data."""

import asyncio
from datetime import datetime

from sqlalchemy import ForeignKey, String, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.security import hash_password


class Base(DeclarativeBase):
    pass


class Product(Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    price_cents: Mapped[int]


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    total_cents: Mapped[int]
    status: Mapped[str] = mapped_column(String(20), default="placed")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


SEED_PRODUCTS = [
    ("KB-101", "Mechanical keyboard", 8900),
    ("MS-202", "Wireless mouse", 2900),
    ("HD-303", "USB-C hub", 3900),
    ("MN-404", "27-inch monitor", 27900),
]
DEMO_USER = ("demo@example.com", "demo-password")


async def init_db(engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    async with sessionmaker() as session:
        if await session.scalar(select(func.count()).select_from(Product)):
            return
        session.add_all(Product(sku=s, name=n, price_cents=p) for s, n, p in SEED_PRODUCTS)
        # PBKDF2 is CPU work: hash in a worker thread, even at startup.
        pw_hash = await asyncio.to_thread(hash_password, DEMO_USER[1])
        session.add(User(email=DEMO_USER[0], password_hash=pw_hash))
        try:
            await session.commit()
        except IntegrityError:
            await session.rollback()  # another worker seeded first
