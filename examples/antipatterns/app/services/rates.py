"""Currency conversion."""
import json
import threading
import urllib.request
from decimal import Decimal

from app.settings import settings

rates_cache: dict[str, Decimal] = {"EUR": Decimal("1")}
rates_lock = threading.Lock()


async def fetch_exchange_rates() -> dict[str, Decimal]:
    # DON'T: this coroutine never awaits anything; urlopen() and read() run on the event
    # loop, so "await fetch_exchange_rates()" blocks exactly like a plain call would
    raw = json.loads(urllib.request.urlopen(settings.rates_url, timeout=5).read())
    return {code: Decimal(str(rate)) for code, rate in raw["rates"].items()}


def convert(amount: Decimal, currency: str) -> Decimal:
    rate = rates_cache.get(currency)
    if rate is None:
        raise KeyError(currency)
    return (amount * rate).quantize(Decimal("0.01"))
