"""``disconnect_aware``: a streaming body that stops when its client is gone."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any, TypeVar

import anyio

T = TypeVar("T")


async def _disconnected(receive: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


async def disconnect_aware(request: Any, agen: AsyncIterator[T]) -> AsyncGenerator[T, None]:
    """Yield from ``agen`` until it ends or the client disconnects, then close it.

    ``return StreamingResponse(disconnect_aware(request, events()))``. Without it, a stream
    that waits for its next item (an SSE feed idle for minutes) only notices the client left
    when it next writes; with it, the wait for the next item is cancelled as soon as the server
    reports ``http.disconnect``, and ``agen``'s ``finally`` blocks run right away.

    Args:
        request: the Starlette ``Request`` (anything with the ASGI ``receive``) of the response.
        agen: the producer.
    """
    receive = request.receive
    watcher = asyncio.ensure_future(_disconnected(receive))
    iterator = aiter(agen)
    step: asyncio.Future[T] | None = None
    try:
        while True:
            # One step at a time: the loop awaits each before starting the next.
            step = asyncio.ensure_future(anext(iterator))  # noqa: LS401
            await asyncio.wait((step, watcher), return_when=asyncio.FIRST_COMPLETED)
            if not step.done():  # the client is gone: stop the producer where it waits
                step.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                    await step
                return
            try:
                item = step.result()
            except StopAsyncIteration:
                return
            yield item
    finally:
        for task in (watcher, step):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                    await task
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            # Shielded, so the producer's own cleanup runs even when we are being cancelled;
            # bounded, so a producer that hangs in it cannot hold the request forever.
            with anyio.move_on_after(5, shield=True):
                await aclose()
