"""Module-level clients shared by the whole app."""
import boto3
import fakeredis
import httpx
import redis
import redis.asyncio as aioredis
import requests
from passlib.context import CryptContext

from app.settings import settings

# Without REDIS_URL (a laptop, the tests) the same sync client talks to fakeredis in-process.
_redis_pool = (
    redis.ConnectionPool.from_url(settings.redis_url, decode_responses=True)
    if settings.redis_url
    else redis.ConnectionPool(
        connection_class=fakeredis.FakeConnection, server=fakeredis.FakeServer(), decode_responses=True
    )
)
cache = redis.Redis(connection_pool=_redis_pool)
s3 = boto3.client(
    "s3",
    endpoint_url=settings.s3_endpoint_url,
    region_name="eu-west-1",
    aws_access_key_id=settings.s3_access_key,
    aws_secret_access_key=settings.s3_secret_key,
)
shipping_http = httpx.Client(base_url=settings.shipping_url, timeout=5.0)
payments = httpx.AsyncClient(base_url=settings.payments_url, timeout=10.0)
# DON'T: timeout=None switches off httpx's 5 s default: when the warehouse API hangs, every
# request waiting on it (and its pooled connection) hangs with it, forever
stock_api = httpx.AsyncClient(base_url=settings.warehouse_url, timeout=None)
webhooks = httpx.AsyncClient(timeout=5.0)
order_events = aioredis.Redis.from_url(settings.redis_url or "redis://127.0.0.1:6379", decode_responses=True)
pwd_context = CryptContext(schemes=["bcrypt"], deprecated="auto")


class UpstreamError(Exception):
    """A dependency we call over the network failed."""

    def __init__(self, service: str, detail: str) -> None:
        super().__init__(f"{service}: {detail}")
        self.service = service
        self.detail = detail


class PricingClient:
    """Thin wrapper over the internal pricing service."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = requests.Session()
        self.http.headers["User-Agent"] = "shop-api/1.4"

    def fetch_offers(self, sku: str) -> list[dict]:
        try:
            resp = self.http.get(f"{self.base_url}/offers/{sku}", timeout=5)
            resp.raise_for_status()
        except requests.RequestException as exc:
            raise UpstreamError("pricing", str(exc)) from exc
        return resp.json()["offers"]


class WarehouseClient:
    """Stock levels from the warehouse system."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.client = requests.Session()

    async def stock_level(self, sku: str) -> int:
        # DON'T: self.client is a requests.Session, so this GET blocks the event loop;
        # declaring the method "async" does not make the HTTP call asynchronous
        resp = self.client.get(f"{self.base_url}/stock/{sku}", timeout=5)
        resp.raise_for_status()
        return int(resp.json()["available"])


pricing_client = PricingClient(settings.pricing_url)
warehouse = WarehouseClient(settings.warehouse_url)
