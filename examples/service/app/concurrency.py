"""Two asyncio building blocks this service wants in a shape loopsafe's do not have.

The bounded fan-out is loopsafe's (`loopsafe.bounded_gather`). This bulkhead bounds its wait
queue by length (`loopsafe.Bulkhead` bounds it by time), and this task tracker has daemon tasks
that are cancelled, not drained, at shutdown (`loopsafe.TaskTracker` drains everything).
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any

log = logging.getLogger(__name__)


class BulkheadFull(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(f"bulkhead {name} full")
        self.name = name


class Bulkhead:
    """At most `size` concurrent calls to one upstream and `queue` more waiting.

    Past that a call fails at once with BulkheadFull: a slow upstream then costs its own
    slots only, instead of every request of the service piling up behind it.
    """

    def __init__(self, name: str, size: int, queue: int) -> None:
        self.name = name
        self.size = size
        self.queue = queue
        self._slots = asyncio.Semaphore(size)
        self._waiting = 0

    @property
    def in_use(self) -> int:
        return self.size - self._slots._value

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self._slots.locked() and self._waiting >= self.queue:
            raise BulkheadFull(self.name)
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        try:
            yield
        finally:
            self._slots.release()


class TaskTracker:
    """Keeps a reference to every background task, logs its failure, drains them at shutdown."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._daemons: set[asyncio.Task[Any]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(
        self, coro: Coroutine[Any, Any, Any], *, name: str, daemon: bool = False
    ) -> asyncio.Task[Any]:
        """Start `coro`; daemon tasks (endless loops) are cancelled at drain, not waited for."""
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        if daemon:
            self._daemons.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        self._daemons.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task %s failed", task.get_name(), exc_info=task.exception())

    async def drain(self, grace: float) -> None:
        """Cancel the daemons, give the rest `grace` seconds to finish, then cancel them."""
        daemons, others = set(self._daemons), self._tasks - self._daemons
        for task in daemons:
            task.cancel()
        late: set[asyncio.Task[Any]] = set()
        if others:
            _, late = await asyncio.wait(others, timeout=grace)
            for task in late:
                log.warning("background task %s cancelled at shutdown", task.get_name())
                task.cancel()
        await asyncio.gather(*daemons, *others, return_exceptions=True)
        log.info(
            "background tasks drained: %d finished, %d cancelled, %d daemons stopped",
            len(others) - len(late), len(late), len(daemons),
        )  # fmt: skip
