"""Helpers for calling synchronous code from async code."""
import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def run_blocking(fn: Callable[..., T], *args: Any) -> T:
    """Run a blocking callable in the default thread pool and await its result."""
    return await asyncio.to_thread(fn, *args)
