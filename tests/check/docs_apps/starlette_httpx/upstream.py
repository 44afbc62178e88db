"""Calls to upstream services with a shared httpx.AsyncClient."""

import asyncio
from collections.abc import AsyncIterator

import httpx

STATUS_URL = "https://status.example.com/api/v2/status.json"
NEWS_URL = "https://news.example.com/api/latest"
MAIL_URL = "https://mail.example.com/v1/send"

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
LIMITS = httpx.Limits(max_keepalive_connections=20, max_connections=100)


async def fetch_dashboard(client: httpx.AsyncClient) -> dict:
    async with asyncio.timeout(15):
        status_response, news_response = await asyncio.gather(
            client.get(STATUS_URL),
            client.get(NEWS_URL, params={"limit": 5}),
        )
    status_response.raise_for_status()
    news_response.raise_for_status()
    return {"status": status_response.json(), "news": news_response.json()}


async def fetch_statuses(
    client: httpx.AsyncClient, urls: list[str], concurrency: int = 5
) -> dict[str, int]:
    semaphore = asyncio.Semaphore(concurrency)

    async def fetch_status(url: str) -> int:
        async with semaphore:
            response = await client.head(url, follow_redirects=True)
            return response.status_code

    async with asyncio.TaskGroup() as tg:
        tasks = {url: tg.create_task(fetch_status(url)) for url in urls}
    return {url: task.result() for url, task in tasks.items()}


async def stream_bytes(client: httpx.AsyncClient, url: str) -> AsyncIterator[bytes]:
    async with client.stream("GET", url) as response:
        response.raise_for_status()
        async for chunk in response.aiter_bytes():
            yield chunk


async def send_welcome_email(client: httpx.AsyncClient, to_address: str) -> None:
    response = await client.post(
        MAIL_URL, json={"to": to_address, "template": "welcome"}, timeout=TIMEOUT
    )
    response.raise_for_status()
