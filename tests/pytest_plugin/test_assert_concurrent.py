"""assert_concurrent: the ratio of n concurrent requests to one, measured in the same run."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from fastapi import FastAPI

from loopsafe.testing import assert_concurrent

app = FastAPI()


@app.get("/overlaps")
async def overlaps() -> dict[str, bool]:
    await asyncio.sleep(0.05)
    return {"ok": True}


@app.get("/serializes")
async def serializes() -> dict[str, bool]:
    time.sleep(0.05)
    return {"ok": True}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_overlapping_requests_pass() -> None:
    result = await assert_concurrent(app, "GET /overlaps", n=8, max_factor=3.0)
    assert result.factor < 3.0
    assert result.stalls == ()


@pytest.mark.anyio
async def test_serializing_requests_fail_with_the_culprit() -> None:
    with pytest.raises(AssertionError) as info:
        await assert_concurrent(app, "GET /serializes", n=8, max_factor=3.0)
    message = str(info.value)
    assert "serialization factor" in message
    assert "test_assert_concurrent.py:25" in message
    assert "time.sleep(0.05)" in message


@pytest.mark.anyio
async def test_live_server(serve: Any) -> None:
    server = serve(app)
    result = await assert_concurrent(server.url, "GET /overlaps", n=8, max_factor=3.0)
    assert result.n == 8
