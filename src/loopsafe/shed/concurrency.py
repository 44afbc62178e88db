"""Fan-out with a cap: ``bounded_gather`` and ``BoundedTaskGroup``, on anyio task groups."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Iterator
from types import TracebackType
from typing import Any, TypeVar

import anyio
from anyio.abc import TaskGroup

from loopsafe._errors import ConfigError

T = TypeVar("T")


def _check_limit(limit: int, source: str) -> None:
    if limit < 1:
        raise ConfigError(f"{source}(limit=) must be at least 1, got {limit}")


def _first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The error to raise instead of the group: the first one that is not a cancellation."""
    cancelled = anyio.get_cancelled_exc_class()
    error: BaseException
    for error in group.exceptions:
        if isinstance(error, BaseExceptionGroup):
            return _first_error(error)
        if not isinstance(error, cancelled):
            return error
    return group


async def bounded_gather(aws: Iterable[Awaitable[T]], limit: int) -> list[T]:
    """Await ``aws`` with at most ``limit`` running at once; results in the order given.

    Only ``limit`` worker tasks run, each taking the next awaitable when it is done with one, so
    a long (even lazy) iterable costs ``limit`` tasks, not one per item. The first failure
    cancels the others and is raised as is (not wrapped in an ExceptionGroup); awaitables never
    started are closed, so no "never awaited" warning is left behind.
    """
    _check_limit(limit, "bounded_gather")
    items: Iterator[tuple[int, Awaitable[T]]] = enumerate(aws)
    results: dict[int, T] = {}

    async def worker() -> None:
        for index, aw in items:
            results[index] = await aw

    try:
        async with anyio.create_task_group() as tg:
            for _ in range(limit):
                tg.start_soon(worker)
    except BaseExceptionGroup as group:
        error = _first_error(group)
        if error is group:
            raise
        raise error from None
    finally:
        for _, aw in items:  # what no worker reached, after a failure or a cancellation
            if inspect.iscoroutine(aw):
                aw.close()
    return [results[i] for i in range(len(results))]


class BoundedTaskGroup:
    """An anyio task group in which at most ``limit`` tasks run at once; the others wait to start.

    ``async with BoundedTaskGroup(10) as tg: for url in urls: tg.start_soon(fetch, url)``. As in
    any task group, a failing task cancels the others; the error is raised as is when it is the
    only one (not wrapped in an ExceptionGroup).
    """

    def __init__(self, limit: int) -> None:
        _check_limit(limit, "BoundedTaskGroup")
        self.limit = limit
        self._group: TaskGroup | None = None
        self._semaphore: anyio.Semaphore | None = None

    async def __aenter__(self) -> BoundedTaskGroup:
        self._semaphore = anyio.Semaphore(self.limit)
        self._group = anyio.create_task_group()
        await self._group.__aenter__()
        return self

    def start_soon(
        self, fn: Callable[..., Awaitable[Any]], *args: Any, name: str | None = None
    ) -> None:
        """Schedule ``fn(*args)``; it starts once fewer than ``limit`` tasks are running."""
        if self._group is None or self._semaphore is None:
            raise RuntimeError("BoundedTaskGroup.start_soon() needs `async with` first")
        semaphore = self._semaphore

        async def run() -> None:
            async with semaphore:
                await fn(*args)

        self._group.start_soon(run, name=name or getattr(fn, "__qualname__", None))

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        if self._group is None:
            return None
        group, self._group = self._group, None
        try:
            return await group.__aexit__(exc_type, exc, tb)
        except BaseExceptionGroup as errors:
            error = _first_error(errors)
            if error is errors or len(errors.exceptions) != 1:
                raise
            raise error from None
