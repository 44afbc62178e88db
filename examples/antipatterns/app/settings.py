"""Settings, read once when the module is imported.

Reading the JSON file here is fine: it runs at import time, before the server
accepts requests, so nothing is waiting on the event loop.
"""
import json
import os
from dataclasses import dataclass
from pathlib import Path

CONFIG_PATH = Path(os.environ.get("SHOP_CONFIG", "config/shop.json"))
_file_config: dict = json.loads(CONFIG_PATH.read_text()) if CONFIG_PATH.exists() else {}


def _get(name: str, default: str) -> str:
    return os.environ.get(name.upper(), str(_file_config.get(name, default)))


@dataclass(frozen=True)
class Settings:
    database_url: str = _get("database_url", "postgresql+psycopg2://shop:shop@localhost/shop")
    legacy_pg_dsn: str = _get("legacy_pg_dsn", "dbname=legacy user=shop host=localhost")
    analytics_db: str = _get("analytics_db", "var/analytics.sqlite3")
    redis_host: str = _get("redis_host", "localhost")
    partner_url: str = _get("partner_url", "https://partner.example.com/api")
    pricing_url: str = _get("pricing_url", "http://pricing.internal:8080")
    rates_url: str = _get("rates_url", "https://rates.example.com/latest.json")
    shipping_url: str = _get("shipping_url", "http://shipping.internal:8080")
    warehouse_url: str = _get("warehouse_url", "http://warehouse.internal:8080")
    payments_url: str = _get("payments_url", "http://payments.internal:8080")
    carrier_url: str = _get("carrier_url", "https://tracking.carrier.example.com")
    order_webhook_url: str = _get("order_webhook_url", "https://erp.example.com/hooks/orders")
    audit_url: str = _get("audit_url", "http://audit.internal:8080/events")
    slack_webhook: str = _get("slack_webhook", "https://hooks.slack.com/services/T000/B000/XXXX")
    smtp_host: str = _get("smtp_host", "localhost")
    smtp_port: int = int(_get("smtp_port", "25"))
    upload_dir: Path = Path(_get("upload_dir", "var/uploads"))
    archive_dir: Path = Path(_get("archive_dir", "var/archive"))
    export_dir: Path = Path(_get("export_dir", "var/exports"))
    catalog_path: Path = Path(_get("catalog_path", "var/catalog.json"))
    maintenance_flag: str = _get("maintenance_flag", "var/MAINTENANCE")
    s3_bucket: str = _get("s3_bucket", "shop-avatars")
    secret_key: str = _get("secret_key", "change-me")


settings = Settings()
