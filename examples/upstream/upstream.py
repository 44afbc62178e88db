"""The upstream services the shop talks to, in one small ASGI app for local runs and tests.

Every path starts with a *profile* that sets how the upstream behaves, so one process can play
a fast partner, a slow one and a broken one at once:

    /ok/...      answers after UPSTREAM_LATENCY_MS (default 20 ms)
    /ms250/...   answers after 250 ms (any number)
    /slow/...    answers after UPSTREAM_SLOW_MS (default 30 s): a hung upstream
    /fail/...    answers 503 at once

Endpoints (after the profile): GET /offers/{sku}, GET /latest (exchange rates),
GET /quote (shipping), GET /stock/{sku}, GET /estimate, GET /track/{id}, GET /totals,
POST /charges, any other POST (webhooks, audit events) is accepted with 202, and a PUT (an
S3 PutObject) with 200.

    uvicorn upstream:app --host 127.0.0.1 --port 8100      # from examples/upstream
"""

from __future__ import annotations

import asyncio
import os
import zlib
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

LATENCY_S = float(os.environ.get("UPSTREAM_LATENCY_MS", "20")) / 1000
SLOW_S = float(os.environ.get("UPSTREAM_SLOW_MS", "30000")) / 1000
RATES = {"EUR": 1.0, "USD": 1.08, "GBP": 0.86, "CHF": 0.95, "JPY": 162.4}


def _delay(profile: str) -> float | None:
    """Seconds to wait before answering, or None for a failing upstream."""
    if profile == "ok":
        return LATENCY_S
    if profile == "slow":
        return SLOW_S
    if profile == "fail":
        return None
    if profile.startswith("ms") and profile[2:].isdigit():
        return int(profile[2:]) / 1000
    raise ValueError(profile)


def _price_cents(sku: str, salt: str) -> int:
    # Deterministic, so tests can compare partners; differs per profile (= per partner).
    return 1000 + zlib.crc32(f"{salt}:{sku}".encode()) % 30000


def _answer(profile: str, path: str, request: Request) -> dict[str, Any]:
    q = request.query_params
    parts = path.strip("/").split("/")
    if parts[0] == "offers" and len(parts) == 2:
        cents = _price_cents(parts[1], profile)
        offer = {"partner": profile, "sku": parts[1], "price_cents": cents, "price": cents / 100}
        return {"offers": [offer]}
    if parts[0] == "latest":
        return {"base": q.get("base", "EUR"), "rates": RATES}
    if parts[0] == "quote":
        weight = float(q.get("weight", "1") or 1)
        return {"carrier": f"{profile}-post", "price_cents": 490 + int(weight * 120), "days": 2}
    if parts[0] == "stock" and len(parts) == 2:
        return {"sku": parts[1], "available": zlib.crc32(parts[1].encode()) % 50}
    if parts[0] == "estimate":
        return {"order": q.get("order"), "postcode": q.get("postcode"), "days": 2}
    if parts[0] == "track" and len(parts) == 2:
        return {"events": [{"status": "label created"}, {"status": "in transit"}]}
    if parts[0] == "totals":
        return {"web": 1234.5, "marketplace": 321.0, "days": int(q.get("days", "7"))}
    raise LookupError(path)


async def handle(request: Request) -> Response:
    profile = request.path_params["profile"]
    path = request.path_params["path"]
    try:
        delay = _delay(profile)
    except ValueError:
        return JSONResponse({"detail": f"unknown profile {profile!r}"}, status_code=404)
    if delay is None:
        return JSONResponse({"detail": "upstream failure (profile fail)"}, status_code=503)
    await asyncio.sleep(delay)
    if request.method == "PUT":  # S3 PutObject (path style): accepted, not stored
        await request.body()
        return Response(status_code=200, headers={"ETag": '"0"'})
    if request.method == "POST":
        await request.body()
        if path.strip("/") == "charges":
            return JSONResponse({"status": "paid", "charge_id": "ch_1"}, status_code=201)
        return JSONResponse({"accepted": True}, status_code=202)
    try:
        return JSONResponse(_answer(profile, path, request))
    except (LookupError, ValueError):
        return JSONResponse({"detail": f"no such endpoint {path!r}"}, status_code=404)


app = Starlette(routes=[Route("/{profile}/{path:path}", handle, methods=["GET", "POST", "PUT"])])
