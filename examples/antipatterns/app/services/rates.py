"""Currency conversion."""
import asyncio
import json
import logging
import threading
import urllib.request
from decimal import Decimal

from app.settings import settings

rates_cache: dict[str, Decimal] = {"EUR": Decimal("1")}
rates_lock = threading.Lock()
log = logging.getLogger(__name__)


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


async def refresh_rates_forever(interval: float = 300) -> None:
    """Background task started by the lifespan: keeps rates_cache fresh."""
    while True:
        try:
            rates_cache.update(await fetch_exchange_rates())
        # DON'T: BaseException also catches the CancelledError the lifespan sends at shutdown;
        # the loop logs it and carries on, so shutdown waits for a task that never stops
        except BaseException:
            log.exception("exchange-rate refresh failed; keeping the old rates")
        await asyncio.sleep(interval)
