"""Orders, payment, shipping and invoices."""
import asyncio
import time
from typing import Annotated

import httpx
import requests
from fastapi import APIRouter, Depends, HTTPException, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from fastapi_utils.cbv import cbv
from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.clients import order_events, payments, shipping_http, warehouse
from app.db import Order, User, get_db
from app.deps import get_current_user
from app.repositories.orders import OrderRepo
from app.services.notifications import notify_order_paid, send_order_confirmation
from app.services.orders import place_order, render_invoice
from app.services.stock import stock_levels
from app.settings import settings

router = APIRouter()


class OrderLine(BaseModel):
    sku: str
    quantity: int = 1


class NewOrder(BaseModel):
    lines: list[OrderLine]


@router.get("")
def my_orders(user: User = Depends(get_current_user), db: Session = Depends(get_db)) -> list[dict]:
    # Fine: sync route, so the sync repository runs in the thread pool.
    return [
        {"id": o.id, "total": str(o.total), "status": o.status}
        for o in OrderRepo(db).for_user(user.id)
    ]


@router.post("", status_code=201)
async def create_order(order: NewOrder, user: User = Depends(get_current_user)) -> dict:
    for line in order.lines:
        available = await warehouse.stock_level(line.sku)
        if available < line.quantity:
            raise HTTPException(409, f"{line.sku} is out of stock")
    items = [(line.sku, line.quantity) for line in order.lines]
    # DON'T: place_order -> quote_total -> ProductRepo.price_of -> Session.execute,
    # four modules deep and synchronous all the way
    order_id = place_order(user.id, items)
    # DON'T: send_order_confirmation opens an SMTP connection synchronously
    send_order_confirmation(user.email, order_id)
    return {"id": order_id}


@router.post("/cart/availability")
async def cart_availability(skus: list[str]) -> dict[str, int]:
    # The cart comes from the client: it can hold any number of SKUs.
    return await stock_levels(skus)


@router.get("/shipping-quote")
async def shipping_quote(postcode: str, weight_kg: float) -> dict:
    # DON'T: shipping_http is a module-level httpx.Client, the synchronous one
    resp = shipping_http.get("/quote", params={"postcode": postcode, "weight": weight_kg})
    resp.raise_for_status()
    return resp.json()


@router.post("/{order_id}/pay")
async def pay_order(order_id: int, user: User = Depends(get_current_user)) -> dict:
    for attempt in range(3):
        resp = await payments.post("/charges", json={"order_id": order_id, "user_id": user.id})
        if resp.status_code != 503:
            break
        # DON'T: time.sleep in the retry back-off freezes the whole loop
        time.sleep(0.5 * 2**attempt)
    resp.raise_for_status()
    # DON'T: notify_order_paid is an async def; called without await it only builds a
    # coroutine object, so the ERP webhook is never sent and the order is never picked
    notify_order_paid(order_id)
    return resp.json()


@router.get("/{order_id}/tracking")
async def tracking(order_id: int) -> dict:
    url = f"{settings.carrier_url}/track/{order_id}"
    # Fine: the sync requests call runs in a worker thread.
    resp = await asyncio.to_thread(lambda: requests.get(url, timeout=5))
    return {"order_id": order_id, "events": resp.json().get("events", [])}


@router.get("/{order_id}/delivery-estimate")
async def delivery_estimate(order_id: int, postcode: str) -> dict:
    # DON'T: a new AsyncClient per request: a fresh connection pool, DNS lookup and TLS
    # handshake to the carrier every time, and no connection is ever reused
    async with httpx.AsyncClient(base_url=settings.carrier_url, timeout=5.0) as carrier:
        resp = await carrier.get("/estimate", params={"order": order_id, "postcode": postcode})
    resp.raise_for_status()
    return resp.json()


@router.websocket("/ws/{order_id}")
async def order_status_feed(websocket: WebSocket, order_id: int) -> None:
    await websocket.accept()
    pubsub = order_events.pubsub()
    await pubsub.subscribe(f"order:{order_id}")
    try:
        async for message in pubsub.listen():
            if message["type"] == "message":
                await websocket.send_text(message["data"])
    except WebSocketDisconnect:
        pass
    finally:
        # DON'T: this cleanup runs while the handler is being cancelled (client gone, server
        # shutting down); the unshielded await is cancelled too and the subscription leaks
        await pubsub.unsubscribe(f"order:{order_id}")


@router.post("/{order_id}/cancel")
async def cancel_order(
    order_id: int,
    user: Annotated[User, Depends(get_current_user)],
    db: Annotated[Session, Depends(get_db)],
) -> dict:
    # DON'T: the Annotated[Session, Depends(...)] spelling is still a sync Session on the loop
    result = db.execute(
        update(Order)
        .where(Order.id == order_id, Order.user_id == user.id, Order.status == "pending")
        .values(status="cancelled")
    )
    # DON'T: blocking commit
    db.commit()
    if result.rowcount == 0:
        raise HTTPException(409, "order cannot be cancelled")
    return {"id": order_id, "status": "cancelled"}


@router.get("/{order_id}/invoice")
async def invoice(order_id: int, _: User = Depends(get_current_user)) -> Response:
    # Fine: run_in_threadpool moves the sync rendering off the loop.
    body = await run_in_threadpool(render_invoice, order_id)
    return Response(body, media_type="text/plain")


# fastapi-utils' cbv wants a router holding only HTTP routes (this one has a websocket).
admin_router = APIRouter()


@cbv(admin_router)
class OrderAdmin:
    db: Session = Depends(get_db)
    user: User = Depends(get_current_user)

    @admin_router.get("/admin/pending")
    async def pending(self) -> list[dict]:
        # DON'T: self.db is the sync Session injected as a class attribute
        rows = self.db.execute(select(Order).where(Order.status == "pending")).scalars().all()
        return [{"id": o.id, "user_id": o.user_id, "total": str(o.total)} for o in rows]


router.include_router(admin_router)
