"""The price feed: a daemon thread that copies current prices from the database."""
import threading
import time
from decimal import Decimal

from sqlalchemy import select

from app.db import Product, SessionLocal

# Read by the routes; written only by the feed thread.
latest_prices: dict[str, Decimal] = {}


def _poll(interval: float) -> None:
    while True:
        with SessionLocal() as session:
            latest_prices.update(dict(session.execute(select(Product.sku, Product.price)).all()))
        time.sleep(interval)


def start(interval: float = 5.0) -> None:
    threading.Thread(target=_poll, args=(interval,), name="price-feed", daemon=True).start()
