"""Orders, cart availability and shipping quotes."""

from fastapi import APIRouter, BackgroundTasks, HTTPException, status
from pydantic import BaseModel, Field

from app.clients import UpstreamError, Upstreams
from app.db import Order
from app.deps import CurrentUser, SessionDep, TasksDep, UpstreamsDep
from app.repositories import orders as order_repo
from app.repositories import products as product_repo
from app.services import audit
from app.services.pricing import order_total, vat_breakdown
from app.settings import settings
from loopsafe import bounded_gather

router = APIRouter()


class OrderLine(BaseModel):
    sku: str
    quantity: int = Field(default=1, gt=0, le=100)


class NewOrder(BaseModel):
    lines: list[OrderLine] = Field(min_length=1)


def _out(order: Order) -> dict:
    return {"id": order.id, "total_cents": order.total_cents, "status": order.status}


async def notify_order_placed(upstreams: Upstreams, order_id: int, total_cents: int) -> None:
    """Tell the ERP; runs after the response, tracked so shutdown waits for it."""
    body = {"event": "order.placed", "order_id": order_id, "total_cents": total_cents}
    await upstreams.request("webhook", "POST", settings.webhook_url, json=body)


@router.get("")
async def my_orders(user: CurrentUser, session: SessionDep) -> list[dict]:
    return [_out(o) for o in await order_repo.for_user(session, user.id)]


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_order(
    body: NewOrder, user: CurrentUser, session: SessionDep, upstreams: UpstreamsDep,
    tasks: TasksDep, background_tasks: BackgroundTasks,
) -> dict:  # fmt: skip
    lines = [(line.sku, line.quantity) for line in body.lines]
    prices = await product_repo.prices_for(session, [sku for sku, _ in lines])
    missing = sorted({sku for sku, _ in lines} - prices.keys())
    if missing:
        raise HTTPException(422, f"unknown skus: {missing}")
    order = Order(user_id=user.id, total_cents=order_total(prices, lines))
    session.add(order)
    await session.commit()
    # Runs after the response is sent; a sync function there goes to the thread pool.
    background_tasks.add_task(audit.record, "order_placed", order_id=order.id, user_id=user.id)
    tasks.spawn(
        notify_order_placed(upstreams, order.id, order.total_cents), name=f"notify-{order.id}"
    )
    return _out(order)


@router.post("/cart/availability")
async def cart_availability(skus: list[str], upstreams: UpstreamsDep) -> dict[str, int | None]:
    # The cart comes from the client and can hold any number of SKUs: fan out, but bounded.
    async def level(sku: str) -> int | None:
        try:
            data = await upstreams.get_json("warehouse", f"{settings.warehouse_url}/stock/{sku}")
            return int(data["available"])
        except (UpstreamError, KeyError, TypeError, ValueError):
            return None  # unknown is better than failing the whole cart

    levels = await bounded_gather((level(sku) for sku in skus), limit=settings.fanout_limit)
    return dict(zip(skus, levels, strict=True))


@router.get("/vat")
def vat(gross_cents: int) -> dict:
    # Plain arithmetic: a sync route is fine (FastAPI runs it in the thread pool).
    return vat_breakdown(gross_cents)


@router.get("/shipping-quote")
async def shipping_quote(upstreams: UpstreamsDep, postcode: str, weight_kg: float) -> dict:
    url = f"{settings.shipping_url}/quote"
    return await upstreams.get_json("shipping", url, postcode=postcode, weight=weight_kg)
