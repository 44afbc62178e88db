"""Data access for products (synchronous SQLAlchemy)."""
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import Product


class ProductRepo:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, product_id: int) -> Product | None:
        return self.session.get(Product, product_id)

    def list(self, limit: int, offset: int) -> list[Product]:
        stmt = select(Product).order_by(Product.id).limit(limit).offset(offset)
        return list(self.session.scalars(stmt))

    def price_of(self, sku: str) -> Decimal:
        stmt = select(Product.price).where(Product.sku == sku)
        return self.session.execute(stmt).scalar_one()
