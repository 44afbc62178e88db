"""Order use-cases."""
from app.db import Order, SessionLocal
from app.repositories.orders import OrderRepo
from app.services.pricing import quote_total


def place_order(user_id: int, items: list[tuple[str, int]]) -> int:
    with SessionLocal() as session:
        total = quote_total(session, items)
        order = OrderRepo(session).create(user_id, total)
        return order.id


def render_invoice(order_id: int) -> bytes:
    with SessionLocal() as session:
        order = session.get(Order, order_id)
        if order is None:
            raise LookupError(f"order {order_id} not found")
        lines = [f"INVOICE #{order.id}", f"Date: {order.created_at:%Y-%m-%d}", f"Total: {order.total} EUR"]
    return "\n".join(lines).encode()
