"""Dependencies, including dependencies with yield (FastAPI docs)."""

import logging
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Header, HTTPException, Request

logger = logging.getLogger(__name__)


async def get_token_header(x_token: Annotated[str, Header()]) -> None:
    if x_token != "fake-super-secret-token":
        raise HTTPException(status_code=400, detail="X-Token header invalid")


async def log_request_duration(request: Request) -> AsyncIterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        elapsed_ms = (time.perf_counter() - start) * 1000
        logger.info("%s %s took %.1f ms", request.method, request.url.path, elapsed_ms)


class OwnerError(Exception):
    pass


async def get_username() -> AsyncIterator[str]:
    try:
        yield "Rick"
    except OwnerError as e:
        raise HTTPException(status_code=400, detail=f"Owner error: {e}") from e
