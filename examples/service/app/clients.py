"""Calls to upstream services through the shared httpx.AsyncClient from the lifespan."""

import asyncio
from typing import Any

import httpx

from app.settings import settings


class UpstreamError(Exception):
    def __init__(self, service: str, detail: str, status_code: int = 502) -> None:
        super().__init__(f"{service}: {detail}")
        self.service = service
        self.detail = detail
        self.status_code = status_code


async def get_json(http: httpx.AsyncClient, service: str, url: str, **params: Any) -> Any:
    """GET a JSON document with an overall deadline; failures become UpstreamError."""
    try:
        async with asyncio.timeout(settings.http_timeout):
            resp = await http.get(url, params=params or None)
            resp.raise_for_status()
            return resp.json()
    except TimeoutError as exc:
        raise UpstreamError(service, "timed out", status_code=504) from exc
    except (httpx.HTTPError, ValueError) as exc:
        raise UpstreamError(service, str(exc) or type(exc).__name__) from exc


async def fetch_all_offers(
    http: httpx.AsyncClient, limit: asyncio.Semaphore, sku: str
) -> tuple[list[dict], dict[str, str]]:
    """Ask every partner at once (bounded by `limit`); return offers plus per-partner errors."""
    offers: list[dict] = []
    errors: dict[str, str] = {}

    async def one(base_url: str) -> None:
        async with limit:
            try:
                resp = await http.get(f"{base_url}/offers/{sku}")
                resp.raise_for_status()
                offers.extend({**o, "source": base_url} for o in resp.json()["offers"])
            except asyncio.CancelledError:
                # Deadline hit or client gone: note who did not answer, then re-raise.
                errors[base_url] = "cancelled"
                raise
            except (httpx.HTTPError, KeyError, TypeError, ValueError) as exc:
                errors[base_url] = type(exc).__name__

    try:
        async with asyncio.timeout(settings.http_timeout):
            async with asyncio.TaskGroup() as tg:
                for base_url in settings.partner_urls:
                    tg.create_task(one(base_url))
    except TimeoutError:
        pass  # partial results: the partners that answered in time
    return offers, errors
