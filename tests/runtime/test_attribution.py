"""Finding the request a task serves from frames and the await graph, nothing registered."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest

from loopsafe.runtime import attribution


class _Request:
    """Stands for a RequestInfo: attribution only hands back what the frame holds."""


async def serving(request: _Request, work: Callable[[], Awaitable[Any]]) -> Any:
    info = request  # noqa: F841  # the local the attribution reads, as in the middleware
    return await work()


attribution.register(serving.__code__)


async def _found_from_child(spawn: Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]]) -> Any:
    """Run ``spawn`` inside a request; from the spawned task, look the request up."""
    found: list[Any] = []

    async def child() -> None:
        await asyncio.sleep(0)
        task = asyncio.current_task()
        found.append(attribution.request_of(task, sys._getframe()))

    request = _Request()
    await serving(request, lambda: spawn(child))
    return found[0] is request


async def _gather(child: Callable[[], Awaitable[Any]]) -> Any:
    return await asyncio.gather(asyncio.sleep(0), child())


async def _task_group(child: Callable[[], Awaitable[Any]]) -> None:
    async with asyncio.TaskGroup() as group:
        group.create_task(child())


async def _anyio_group(child: Callable[[], Awaitable[Any]]) -> None:
    async with anyio.create_task_group() as group:
        group.start_soon(child)


async def _awaited(child: Callable[[], Awaitable[Any]]) -> None:
    await asyncio.create_task(child())


async def _nested(child: Callable[[], Awaitable[Any]]) -> None:
    # A task that waits for a gather inside a task group: two hops up.
    await _task_group(lambda: _gather(child))


async def _wait_for(child: Callable[[], Awaitable[Any]]) -> None:
    await asyncio.wait_for(asyncio.ensure_future(child()), 5)


@pytest.mark.parametrize(
    "spawn", [_gather, _task_group, _anyio_group, _awaited, _nested, _wait_for]
)
def test_a_spawned_task_is_traced_to_its_request(spawn: Any) -> None:
    assert asyncio.run(_found_from_child(spawn)) is True


def test_the_running_stack_names_its_request() -> None:
    async def main() -> bool:
        request = _Request()
        seen: list[Any] = []

        async def work() -> None:
            seen.append(attribution.on_stack(sys._getframe()))

        await serving(request, work)
        return seen[0] is request

    assert asyncio.run(main()) is True


def test_a_detached_task_and_code_outside_requests_have_none() -> None:
    async def main() -> list[Any]:
        found: list[Any] = []

        async def detached() -> None:
            found.append(attribution.request_of(asyncio.current_task(), sys._getframe()))

        async def work() -> None:
            # Created by the request but not awaited by it: nobody waits for it.
            task = asyncio.get_running_loop().create_task(detached())
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            del task

        await serving(_Request(), work)
        found.append(attribution.request_of(asyncio.current_task(), sys._getframe()))
        return found

    assert asyncio.run(main()) == [None, None]


def test_a_suspended_task_is_found_in_its_await_chain() -> None:
    async def main() -> bool:
        request = _Request()
        gate = asyncio.Event()
        task = asyncio.create_task(serving(request, gate.wait))
        await asyncio.sleep(0)
        found = attribution.in_task(task)
        gate.set()
        await task
        return found is request

    assert asyncio.run(main()) is True
