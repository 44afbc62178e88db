"""Settings, read once when the module is imported.

Reading the JSON file here is fine: it runs at import time, before the server
accepts requests, so nothing is waiting on the event loop.

Every setting can be overridden by an environment variable of the same name in upper case
(DATABASE_URL, LEGACY_PG_DSN, PARTNER_URL, ...). The defaults run the app on a laptop: SQLite
in VAR_DIR, and the upstream services of examples/upstream on 127.0.0.1:8100, with the
150 ms latency of the real partner APIs (profile ms150).
"""
import json
import os
from dataclasses import dataclass
from pathlib import Path

CONFIG_PATH = Path(os.environ.get("SHOP_CONFIG", "config/shop.json"))
_file_config: dict = json.loads(CONFIG_PATH.read_text()) if CONFIG_PATH.exists() else {}
VAR = Path(os.environ.get("VAR_DIR", "var"))
UPSTREAM = os.environ.get("UPSTREAM_URL", "http://127.0.0.1:8100/ms150")


def _get(name: str, default: str) -> str:
    return os.environ.get(name.upper(), str(_file_config.get(name, default)))


@dataclass(frozen=True)
class Settings:
    database_url: str = _get("database_url", f"sqlite:///{VAR}/shop.db")
    legacy_pg_dsn: str = _get("legacy_pg_dsn", "dbname=legacy user=shop host=localhost")
    analytics_db: str = _get("analytics_db", f"{VAR}/analytics.sqlite3")
    redis_url: str = _get("redis_url", "")
    partner_url: str = _get("partner_url", UPSTREAM)
    pricing_url: str = _get("pricing_url", UPSTREAM)
    rates_url: str = _get("rates_url", f"{UPSTREAM}/latest")
    shipping_url: str = _get("shipping_url", UPSTREAM)
    warehouse_url: str = _get("warehouse_url", UPSTREAM)
    payments_url: str = _get("payments_url", UPSTREAM)
    carrier_url: str = _get("carrier_url", UPSTREAM)
    order_webhook_url: str = _get("order_webhook_url", f"{UPSTREAM}/hooks/orders")
    audit_url: str = _get("audit_url", f"{UPSTREAM}/events")
    slack_webhook: str = _get("slack_webhook", f"{UPSTREAM}/hooks/slack")
    smtp_host: str = _get("smtp_host", "localhost")
    smtp_port: int = int(_get("smtp_port", "25"))
    upload_dir: Path = Path(_get("upload_dir", f"{VAR}/uploads"))
    archive_dir: Path = Path(_get("archive_dir", f"{VAR}/archive"))
    export_dir: Path = Path(_get("export_dir", f"{VAR}/exports"))
    catalog_path: Path = Path(_get("catalog_path", f"{VAR}/catalog.json"))
    maintenance_flag: str = _get("maintenance_flag", f"{VAR}/MAINTENANCE")
    s3_bucket: str = _get("s3_bucket", "shop-avatars")
    # The upstream app stores nothing but answers S3's PutObject; dev keys like MinIO's.
    s3_endpoint_url: str = _get("s3_endpoint_url", f"{UPSTREAM}/s3")
    s3_access_key: str = _get("s3_access_key", "shop-dev")
    s3_secret_key: str = _get("s3_secret_key", "shop-dev-secret")
    secret_key: str = _get("secret_key", "change-me")
    rate_limit_per_minute: int = int(_get("rate_limit_per_minute", "300"))
    # Seed sizes for app.migrate: big enough that the blocking calls take a visible time.
    catalog_products: int = int(_get("catalog_products", "60000"))
    sales_rows: int = int(_get("sales_rows", "500000"))
    legacy_invoices: int = int(_get("legacy_invoices", "3000000"))


settings = Settings()
