"""Settings from environment variables, with defaults that work on a laptop."""

import os
from dataclasses import dataclass
from pathlib import Path


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


@dataclass(frozen=True)
class Settings:
    database_url: str = _env("DATABASE_URL", "sqlite+aiosqlite:///./service.db")
    partner_urls: tuple[str, ...] = tuple(
        u.strip()
        for u in _env("PARTNER_URLS", "http://127.0.0.1:8101,http://127.0.0.1:8102").split(",")
        if u.strip()
    )
    rates_url: str = _env("RATES_URL", "http://127.0.0.1:8103/latest")
    shipping_url: str = _env("SHIPPING_URL", "http://127.0.0.1:8104")
    upload_dir: Path = Path(_env("UPLOAD_DIR", "./var/uploads"))
    export_dir: Path = Path(_env("EXPORT_DIR", "./var/exports"))
    secret_key: str = _env("SECRET_KEY", "dev-only-secret")
    http_timeout: float = float(_env("HTTP_TIMEOUT", "5"))
    upstream_concurrency: int = int(_env("UPSTREAM_CONCURRENCY", "8"))
    thread_limit: int = int(_env("THREAD_LIMIT", "100"))
    report_workers: int = int(_env("REPORT_WORKERS", "2"))
    max_upload_bytes: int = int(_env("MAX_UPLOAD_BYTES", str(5 * 1024 * 1024)))


settings = Settings()
