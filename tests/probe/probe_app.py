"""An app for the probe's tests: routes that overlap, block, serialize and hang, at known lines
(marked `# culprit:`)."""

from __future__ import annotations

import asyncio
import threading
import time

from fastapi import APIRouter, FastAPI, WebSocket
from pydantic import BaseModel

app = FastAPI()
_lock = threading.Lock()
# Routes of an included router (FastAPI >= 0.120 keeps them behind one router entry).
v1 = APIRouter(prefix="/v1")
nested = APIRouter(prefix="/nested")


class Item(BaseModel):
    name: str
    price: float


@app.get("/clean")
async def clean() -> dict[str, bool]:
    await asyncio.sleep(0.05)
    return {"ok": True}


@app.get("/blocking")
async def blocking() -> dict[str, bool]:
    time.sleep(0.05)  # culprit: blocking
    return {"ok": True}


@app.get("/sync")
def sync_route() -> dict[str, bool]:
    time.sleep(0.05)  # a sync route runs in the thread pool: requests overlap
    return {"ok": True}


@app.get("/locked")
def locked() -> dict[str, bool]:
    with _lock:  # serializes without blocking the loop
        time.sleep(0.03)
    return {"ok": True}


@app.get("/items/{item_id}")
async def get_item(item_id: int, q: str, limit: int = 10) -> dict[str, object]:
    await asyncio.sleep(0.02)
    return {"item_id": item_id, "q": q, "limit": limit}


@app.post("/items")
async def create_item(item: Item) -> Item:
    return item


@app.get("/hang")
async def hang() -> None:
    await asyncio.Event().wait()  # never set: the loop stays free


@app.get("/freeze")
async def freeze() -> None:
    time.sleep(4)  # culprit: freeze


@app.get("/after-freeze")
async def after_freeze() -> dict[str, bool]:
    return {"ok": True}


@nested.get("/leaf/{leaf_id}")
async def leaf(leaf_id: int) -> dict[str, int]:
    return {"leaf": leaf_id}


v1.include_router(nested)
app.include_router(v1)


@app.websocket("/ws")
async def ws(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.close()
