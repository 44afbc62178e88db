"""Apps that cannot be probed: one fails in its lifespan startup."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI


@asynccontextmanager
async def failing_lifespan(app: FastAPI) -> AsyncIterator[None]:
    raise RuntimeError("database unreachable at startup")
    yield


startup_fails = FastAPI(lifespan=failing_lifespan)
not_an_app = 42
