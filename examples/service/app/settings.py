"""Settings from environment variables, with defaults that work on a laptop.

The upstream services default to examples/upstream on 127.0.0.1:8100
(`uvicorn upstream:app --port 8100`, cwd examples/upstream); the path's first segment picks
how that upstream behaves (ok, ms250, slow, fail).
"""

import os
from dataclasses import dataclass
from pathlib import Path


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


VAR = Path(_env("VAR_DIR", "./var"))
UPSTREAM = _env("UPSTREAM_URL", "http://127.0.0.1:8100").rstrip("/")


@dataclass(frozen=True)
class Settings:
    database_url: str = _env("DATABASE_URL", f"sqlite+aiosqlite:///{VAR}/service.db")
    partner_urls: tuple[str, ...] = tuple(
        u.strip()
        for u in _env("PARTNER_URLS", f"{UPSTREAM}/ok,{UPSTREAM}/ms50").split(",")
        if u.strip()
    )
    rates_url: str = _env("RATES_URL", f"{UPSTREAM}/ok/latest")
    shipping_url: str = _env("SHIPPING_URL", f"{UPSTREAM}/ok")
    warehouse_url: str = _env("WAREHOUSE_URL", f"{UPSTREAM}/ok")
    webhook_url: str = _env("WEBHOOK_URL", f"{UPSTREAM}/ok/hooks/orders")
    upload_dir: Path = Path(_env("UPLOAD_DIR", str(VAR / "uploads")))
    export_dir: Path = Path(_env("EXPORT_DIR", str(VAR / "exports")))
    secret_key: str = _env("SECRET_KEY", "dev-only-secret")
    # Deadline of every single outbound call (connect, read, and the whole call).
    http_timeout: float = float(_env("HTTP_TIMEOUT", "2"))
    # Bulkhead per upstream: concurrent calls, and calls allowed to queue before failing fast.
    bulkhead_size: int = int(_env("BULKHEAD_SIZE", "20"))
    bulkhead_queue: int = int(_env("BULKHEAD_QUEUE", "50"))
    # loopsafe's load shedding ("adaptive", "static", "lag", "adaptive+lag"; "" switches it off).
    shed_policy: str = _env("SHED_POLICY", "adaptive")
    # Client-supplied lists (a cart's SKUs) are fanned out at most this wide.
    fanout_limit: int = int(_env("FANOUT_LIMIT", "8"))
    thread_limit: int = int(_env("THREAD_LIMIT", "100"))
    report_workers: int = int(_env("REPORT_WORKERS", "2"))
    max_upload_bytes: int = int(_env("MAX_UPLOAD_BYTES", str(5 * 1024 * 1024)))
    sse_interval: float = float(_env("SSE_INTERVAL", "1"))
    rates_refresh: float = float(_env("RATES_REFRESH", "60"))
    # How long shutdown waits for background work (webhooks) before cancelling it.
    drain_timeout: float = float(_env("DRAIN_TIMEOUT", "5"))


settings = Settings()
