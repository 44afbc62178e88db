"""Endpoints (Starlette docs: Requests, Responses, Background Tasks, Endpoints, Thread Pool)."""

import asyncio
import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.endpoints import WebSocketEndpoint
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.websockets import WebSocket

from . import upstream

FILES_DIR = Path("files")
MAX_URLS = 20


async def homepage(request: Request) -> JSONResponse:
    return JSONResponse({"hello": "world"})


async def signup(request: Request) -> JSONResponse:
    data = await request.json()
    email = data["email"]
    client = request.app.state.http_client
    task = BackgroundTask(upstream.send_welcome_email, client, to_address=email)
    return JSONResponse({"status": "Signup successful"}, background=task)


async def dashboard(request: Request) -> JSONResponse:
    return JSONResponse(await upstream.fetch_dashboard(request.app.state.http_client))


async def check_links(request: Request) -> JSONResponse:
    data = await request.json()
    urls = data.get("urls", [])
    if len(urls) > MAX_URLS:
        raise HTTPException(status_code=400, detail=f"At most {MAX_URLS} URLs")
    statuses = await upstream.fetch_statuses(request.app.state.http_client, urls)
    return JSONResponse(statuses)


async def mirror(request: Request) -> StreamingResponse:
    url = request.query_params["url"]
    body = upstream.stream_bytes(request.app.state.http_client, url)
    return StreamingResponse(body, media_type="application/octet-stream")


async def slow_numbers(minimum: int, maximum: int) -> AsyncIterator[str]:
    yield "<html><body><ul>"
    for number in range(minimum, maximum + 1):
        yield f"<li>{number}</li>"
        await asyncio.sleep(0.5)
    yield "</ul></body></html>"


async def numbers(request: Request) -> StreamingResponse:
    return StreamingResponse(slow_numbers(1, 10), media_type="text/html")


async def clock(request: Request) -> StreamingResponse:
    async def event_stream() -> AsyncIterator[str]:
        while True:
            if await request.is_disconnected():
                break
            yield f"data: {datetime.now(UTC).isoformat()}\n\n"
            await asyncio.sleep(1)

    return StreamingResponse(event_stream(), media_type="text/event-stream")


def file_digest(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


async def digest(request: Request) -> JSONResponse:
    path = FILES_DIR / Path(request.path_params["name"]).name
    sha256 = await run_in_threadpool(file_digest, path)
    return JSONResponse({"name": path.name, "sha256": sha256})


class Echo(WebSocketEndpoint):
    encoding = "text"

    async def on_receive(self, websocket: WebSocket, data: str) -> None:
        await websocket.send_text(f"Message text was: {data}")
