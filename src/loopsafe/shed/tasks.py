"""TaskTracker: fire-and-forget background tasks that are not forgotten."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger("loopsafe.shed")


class TaskTracker:
    """Keeps a reference to each background task, reports its failure, and drains on shutdown.

    asyncio keeps only weak references to tasks, so a task nobody holds may be garbage-collected
    mid-flight, and an exception in it is only seen, if ever, when it is collected. The tracker
    holds every task until it is done, logs a failure at once (with its traceback, on the
    ``loopsafe.shed`` logger, or calls ``on_error``), and at shutdown waits for the tasks to
    finish before cancelling the rest:

    .. code-block:: python

        tracker = loopsafe.TaskTracker()

        @asynccontextmanager
        async def lifespan(app):
            yield
            await tracker.drain(10)   # up to 10 s to finish, then cancelled

        tracker.spawn(send_welcome_email(user))

    Args:
        on_error: called with ``(task, exception)`` instead of logging.
    """

    def __init__(self, on_error: Callable[[asyncio.Task[Any], BaseException], None] | None = None):
        self.on_error = on_error
        self.tasks: set[asyncio.Task[Any]] = set()
        self.failed = 0
        self.finished = 0
        self.closed = False

    def __len__(self) -> int:
        return len(self.tasks)

    def spawn(self, coro: Coroutine[Any, Any, T], *, name: str | None = None) -> asyncio.Task[T]:
        """Start ``coro`` as a tracked task on the running loop and return it."""
        if self.closed:
            coro.close()
            raise RuntimeError("TaskTracker.spawn() after drain(): the app is shutting down")
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self.tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        self.finished += 1
        if task.cancelled():
            return
        error = task.exception()
        if error is None:
            return
        self.failed += 1
        if self.on_error is not None:
            self.on_error(task, error)
        else:
            log.error("background task %s failed", task.get_name(), exc_info=error)

    async def drain(self, deadline: float) -> dict[str, int]:
        """Refuse new tasks, wait up to ``deadline`` seconds for the running ones, then cancel
        what is left and wait for it to unwind (at most ``deadline`` seconds more).

        Returns ``{"finished": n, "cancelled": n}`` for this drain.
        """
        self.closed = True
        pending = set(self.tasks)
        if not pending:
            return {"finished": 0, "cancelled": 0}
        done, late = await asyncio.wait(pending, timeout=deadline)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late, timeout=deadline)
        return {"finished": len(done), "cancelled": len(late)}
