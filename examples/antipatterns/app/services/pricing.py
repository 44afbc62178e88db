"""Price calculation."""
from decimal import Decimal

from sqlalchemy.orm import Session

from app.repositories.products import ProductRepo

VAT = Decimal("0.20")


def quote_total(session: Session, items: list[tuple[str, int]]) -> Decimal:
    repo = ProductRepo(session)
    net = Decimal("0")
    for sku, qty in items:
        net += repo.price_of(sku) * qty
    return (net * (1 + VAT)).quantize(Decimal("0.01"))
