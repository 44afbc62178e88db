"""Exchange rates, kept fresh by a background task so a slow rates API never slows a request."""

import asyncio
import logging

from fastapi import FastAPI

from app.clients import UpstreamError
from app.settings import settings

log = logging.getLogger(__name__)


async def refresh_rates_forever(app: FastAPI) -> None:
    """Runs for the app's lifetime (a daemon of app.state.tasks); cancelled at shutdown."""
    while True:
        try:
            data = await app.state.upstreams.get_json("rates", settings.rates_url, base="EUR")
            app.state.rates = {code: float(rate) for code, rate in data["rates"].items()}
        except (UpstreamError, KeyError, TypeError, ValueError) as exc:
            # Keep the last known rates. CancelledError is not caught: shutdown goes through.
            log.warning("exchange-rate refresh failed, keeping the old rates: %s", exc)
        await asyncio.sleep(settings.rates_refresh)
