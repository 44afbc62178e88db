"""Data access for orders (synchronous SQLAlchemy)."""
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import Order


class OrderRepo:
    def __init__(self, session: Session) -> None:
        self.session = session

    def create(self, user_id: int, total: Decimal) -> Order:
        order = Order(user_id=user_id, total=total)
        self.session.add(order)
        self.session.commit()
        self.session.refresh(order)
        return order

    def for_user(self, user_id: int) -> list[Order]:
        stmt = select(Order).where(Order.user_id == user_id).order_by(Order.id.desc())
        return list(self.session.scalars(stmt))
