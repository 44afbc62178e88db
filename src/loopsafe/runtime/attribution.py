"""Which request a stalled loop was serving, found when a stall happens instead of registered on
every request.

The middleware keeps its request's ``RequestInfo`` in a local variable of its own frame (see
``middleware.py``). When the loop stalls, the watchdog walks the loop thread's stack: if the
middleware's frame is on it, its local is the request. When the stall is in a task the request
spawned (a ``BaseHTTPMiddleware``'s ``call_next``, ``gather``, a task group), the middleware's
frame is in another task: the one waiting for this task, found through the done-callbacks that
``await``, ``gather``, asyncio and anyio task groups leave on it. Nothing of this runs per
request, so requests pay nothing for attribution.

Reading a frame's locals from the watchdog thread is safe: it holds the GIL, so the loop thread
is stopped between two bytecodes or inside a C call.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections import deque
from collections.abc import Iterator
from types import CodeType, FrameType
from typing import Any

# Code objects whose frames hold a request in the local named ``REQUEST_LOCAL``.
_codes: set[CodeType] = set()
REQUEST_LOCAL = "info"
_MAX_VISITS = 400  # objects looked at to find the tasks waiting for one task
_MAX_DEPTH = 4  # attribute hops from a done-callback to a waiting task
_MAX_ANCESTORS = 16  # tasks walked up, from the stalled task to the request's task
_MAX_CHAIN = 200  # coroutines walked down one task's await chain


def register(code: CodeType) -> None:
    """Frames running ``code`` hold their request in their local ``info``."""
    _codes.add(code)


def _local(frame: FrameType) -> Any:
    try:
        return frame.f_locals.get(REQUEST_LOCAL)
    except Exception:  # a frame being torn down
        return None


def on_stack(frame: FrameType | None) -> Any:
    """The request of the innermost middleware frame on this stack (the loop thread's)."""
    while frame is not None:
        if frame.f_code in _codes:
            found = _local(frame)
            if found is not None:
                return found
        frame = frame.f_back
    return None


def in_task(task: Any) -> Any:
    """The request of the innermost middleware frame in a suspended task's await chain."""
    try:
        awaitable: Any = task.get_coro()
    except Exception:
        return None
    found = None
    for _ in range(_MAX_CHAIN):
        if awaitable is None:
            break
        frame = getattr(awaitable, "cr_frame", None) or getattr(awaitable, "gi_frame", None)
        if frame is not None and frame.f_code in _codes:
            found = _local(frame) or found
        awaitable = _awaited(awaitable)
    return found


def _awaited(awaitable: Any) -> Any:
    for name in ("cr_await", "gi_yieldfrom", "ag_await"):
        nxt = getattr(awaitable, name, None)
        if nxt is not None:
            return nxt
    return None


def request_of(task: Any, frame: FrameType | None) -> Any:
    """The request the loop was serving: on the running stack, else in a task waiting for the
    running one (and so on up), or None (outside a request, or not through the middleware)."""
    found = on_stack(frame)
    if found is not None or task is None:
        return found
    seen = {id(task)}
    level = [task]
    for _ in range(_MAX_ANCESTORS):
        parents = []
        for child in level:
            for parent in waiting_for(child):
                if id(parent) in seen:
                    continue
                seen.add(id(parent))
                found = in_task(parent)
                if found is not None:
                    return found
                parents.append(parent)
        if not parents:
            return None
        level = parents
    return None


def waiting_for(future: Any) -> Iterator[asyncio.Future[Any]]:
    """Tasks waiting for ``future`` to finish, read from its done-callbacks: a task's wake-up
    method (``await``), a gather's closure over its outer future, a task group's bound method
    or closure holding the group (whose parent task is an attribute, or its cancel scope's)."""
    seen = {id(future)}
    queue = deque((fn, 0) for fn in _done_callbacks(future))
    visits = 0
    while queue and visits < _MAX_VISITS:
        obj, depth = queue.popleft()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        visits += 1
        if isinstance(obj, asyncio.Task):
            yield obj
        elif isinstance(obj, asyncio.Future):
            queue.extend((fn, depth) for fn in _done_callbacks(obj))
        elif depth < _MAX_DEPTH:
            queue.extend((child, depth + 1) for child in _references(obj))


def _done_callbacks(future: Any) -> list[Any]:
    """The functions of a future's done-callbacks (stored as ``(fn, context)`` pairs)."""
    callbacks = getattr(future, "_callbacks", None) or ()
    return [cb[0] if isinstance(cb, tuple) else cb for cb in callbacks]


def _references(obj: Any) -> list[Any]:
    """What a callback or a task-group-like object refers to, without walking into data."""
    if isinstance(obj, str | bytes | int | float | bool | type(None) | dict | list | tuple | set):
        return []
    owner = getattr(obj, "__self__", None)
    if owner is not None and not isinstance(owner, type):
        return [owner]  # a bound method (C or Python): the object it belongs to
    if isinstance(obj, functools.partial):
        return [obj.func, *obj.args]
    closure = getattr(obj, "__closure__", None)
    if closure is not None:
        values = []
        for cell in closure:
            with contextlib.suppress(ValueError):  # an empty cell
                values.append(cell.cell_contents)
        return values
    if callable(obj) and not hasattr(obj, "__dict__"):
        return []
    values = list(getattr(obj, "__dict__", {}).values())
    for name in getattr(type(obj), "__slots__", ()):
        if isinstance(name, str) and hasattr(obj, name):
            values.append(getattr(obj, name))
    return values[:64]
