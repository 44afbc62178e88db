"""Schema and seed data, run by the lifespan as `python -m app.migrate` (a separate process).

It makes the data big enough for the blocking calls of this app to take a visible time: a
catalogue export of tens of thousands of products, a sales export of 500,000 rows and, when
the legacy PostgreSQL database is reachable, three million invoices. Each step is skipped when
its output already exists, so restarts are quick.
"""
import csv
import json
import random
import sqlite3
from decimal import Decimal

import bcrypt
import psycopg2
from sqlalchemy import func, select

from app.db import Base, Product, SessionLocal, User, engine
from app.settings import VAR, settings

SKUS = ["KB-101", "MS-202", "HD-303", "MN-404"]
DEMO_USER = ("demo@example.com", "demo-password")
REGIONS = ["north", "south", "east", "west"]


def seed_database() -> None:
    Base.metadata.create_all(engine)
    with SessionLocal() as session:
        if session.scalar(select(func.count()).select_from(Product)):
            return
        names = ["Mechanical keyboard", "Wireless mouse", "USB-C hub", "27-inch monitor"]
        prices = ["89.00", "29.00", "39.00", "279.00"]
        for sku, name, price in zip(SKUS, names, prices, strict=True):
            session.add(Product(sku=sku, name=name, price=Decimal(price)))
        pw_hash = bcrypt.hashpw(DEMO_USER[1].encode(), bcrypt.gensalt(12)).decode()
        session.add(User(email=DEMO_USER[0], password_hash=pw_hash))
        session.commit()


def write_exports(rng: random.Random) -> None:
    settings.export_dir.mkdir(parents=True, exist_ok=True)
    sales = settings.export_dir / "sales.csv"
    if not sales.exists():
        with open(sales, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["order_id", "sku", "region", "amount", "sold_at"])
            for i in range(settings.sales_rows):
                day = f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}"
                writer.writerow([i, rng.choice(SKUS), rng.choice(REGIONS), rng.randint(5, 500), day])
    report = settings.export_dir / "report-1.csv"
    if not report.exists():
        report.write_text("sku,amount\nKB-101,89\nMS-202,29\n", encoding="utf-8")
    catalog = settings.catalog_path
    if not catalog.exists():
        catalog.parent.mkdir(parents=True, exist_ok=True)
        products = [
            {"sku": f"CAT-{i:06d}", "name": f"Catalogue item {i}", "price": rng.randint(100, 99999) / 100}
            for i in range(settings.catalog_products)
        ]
        catalog.write_text(json.dumps({"products": products}), encoding="utf-8")


def seed_analytics(rng: random.Random) -> None:
    with sqlite3.connect(settings.analytics_db) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS page_views (sku TEXT, at TEXT)")
        if conn.execute("SELECT count(*) FROM page_views").fetchone()[0] == 0:
            rows = ((rng.choice(SKUS), "2024-01-01") for _ in range(settings.sales_rows))
            conn.executemany("INSERT INTO page_views VALUES (?, ?)", rows)


def seed_legacy() -> None:
    try:
        conn = psycopg2.connect(settings.legacy_pg_dsn, connect_timeout=3)
    except psycopg2.OperationalError as exc:
        print(f"migrate: legacy database not reachable, /reports/legacy/revenue will fail: {exc}")
        return
    try:
        with conn, conn.cursor() as cur:
            cur.execute(
                "CREATE TABLE IF NOT EXISTS invoices (year int, month int, amount numeric(12, 2))"
            )
            cur.execute("SELECT count(*) FROM invoices")
            if cur.fetchone()[0] == 0:
                cur.execute(
                    "INSERT INTO invoices SELECT 2020 + i %% 5, 1 + i %% 12, (i %% 997) / 10.0"
                    " FROM generate_series(1, %s) AS i",
                    (settings.legacy_invoices,),
                )
                cur.execute("ANALYZE invoices")
    finally:
        conn.close()


def main() -> None:
    VAR.mkdir(parents=True, exist_ok=True)
    settings.upload_dir.mkdir(parents=True, exist_ok=True)
    settings.archive_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(8)
    seed_database()
    write_exports(rng)
    seed_analytics(rng)
    seed_legacy()


if __name__ == "__main__":
    main()
