"""Catalogue use-cases."""
from decimal import Decimal

from sqlalchemy import select

from app.db import Product, SessionLocal
from app.repositories.products import ProductRepo


def to_dict(product: Product) -> dict:
    return {"id": product.id, "sku": product.sku, "name": product.name, "price": str(product.price)}


def get_product_dict(product_id: int) -> dict | None:
    with SessionLocal() as session:
        product = ProductRepo(session).get(product_id)
        return None if product is None else to_dict(product)


def upsert_products(items: list[dict]) -> int:
    with SessionLocal() as session:
        ids = dict(session.execute(select(Product.sku, Product.id)).all())
        for item in items:
            price = Decimal(str(item["price"]))
            session.merge(Product(id=ids.get(item["sku"]), sku=item["sku"], name=item["name"], price=price))
        session.commit()
    return len(items)
