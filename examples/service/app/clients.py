"""Calls to upstream services: one shared httpx.AsyncClient, a bulkhead per upstream, a
timeout on every call. A failing or slow upstream degrades the answer, it never hangs it."""

import asyncio
import time
from typing import Any

import httpx

from app.concurrency import Bulkhead, BulkheadFull
from app.metrics import UPSTREAM_SECONDS
from app.settings import settings


class UpstreamError(Exception):
    def __init__(self, service: str, detail: str, status_code: int = 502) -> None:
        super().__init__(f"{service}: {detail}")
        self.service = service
        self.detail = detail
        self.status_code = status_code


class Upstreams:
    """The lifespan-scoped client and one bulkhead per upstream name."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self._bulkheads: dict[str, Bulkhead] = {}

    def bulkhead(self, name: str) -> Bulkhead:
        if name not in self._bulkheads:
            self._bulkheads[name] = Bulkhead(name, settings.bulkhead_size, settings.bulkhead_queue)
        return self._bulkheads[name]

    async def request(self, name: str, method: str, url: str, **kwargs: Any) -> Any:
        """One call with a deadline, inside `name`'s bulkhead; failures become UpstreamError."""
        started = time.perf_counter()
        outcome = "error"
        try:
            # The deadline covers the wait for a bulkhead slot as well as the call.
            async with asyncio.timeout(settings.http_timeout), self.bulkhead(name).slot():
                resp = await self.http.request(method, url, **kwargs)
                resp.raise_for_status()
                outcome = "ok"
                return resp.json()
        except BulkheadFull as exc:
            outcome = "rejected"
            raise UpstreamError(name, str(exc), status_code=503) from exc
        except TimeoutError as exc:
            outcome = "timeout"
            raise UpstreamError(name, "timed out", status_code=504) from exc
        except (httpx.HTTPError, ValueError) as exc:
            raise UpstreamError(name, str(exc) or type(exc).__name__) from exc
        finally:
            UPSTREAM_SECONDS.labels(name, outcome).observe(time.perf_counter() - started)

    async def get_json(self, name: str, url: str, **params: Any) -> Any:
        return await self.request(name, "GET", url, params=params or None)


async def fetch_all_offers(upstreams: Upstreams, sku: str) -> tuple[list[dict], dict[str, str]]:
    """Ask every partner at once; return the offers that came back plus per-partner errors."""
    offers: list[dict] = []
    errors: dict[str, str] = {}

    async def one(base_url: str) -> None:
        try:
            data = await upstreams.get_json(f"partner {base_url}", f"{base_url}/offers/{sku}")
            offers.extend({**o, "source": base_url} for o in data["offers"])
        except asyncio.CancelledError:
            # The client went away: note who did not answer, then let the cancel through.
            errors[base_url] = "cancelled"
            raise
        except UpstreamError as exc:
            errors[base_url] = exc.detail
        except (KeyError, TypeError) as exc:
            errors[base_url] = f"bad answer: {type(exc).__name__}"

    # Each call has its own deadline, so the group ends within about one timeout.
    async with asyncio.TaskGroup() as tg:
        for base_url in settings.partner_urls:
            tg.create_task(one(base_url))
    return offers, errors
