"""LS2xx: coroutines and tasks that are created but never run to completion, and async APIs called
from sync code."""

from __future__ import annotations

from collections.abc import Iterator

from loopsafe.check.callgraph import Call
from loopsafe.check.context import CheckContext, call_finding
from loopsafe.check.finding import Finding
from loopsafe.check.index import AWAITED, DROPPED
from loopsafe.check.registry import rule

TASK_FACTORIES = frozenset(
    {
        "asyncio.create_task",
        "asyncio.ensure_future",
        "asyncio.AbstractEventLoop.create_task",
        "asyncio.BaseEventLoop.create_task",
    }
)
LOOP_RUNNERS = frozenset(
    {
        "asyncio.run",
        "asyncio.AbstractEventLoop.run_until_complete",
        "asyncio.BaseEventLoop.run_until_complete",
        "asyncio.Runner.run",
        "anyio.run",
        "trio.run",
    }
)


def _unused_result(fn: dict[str, object], call: Call) -> str | None:
    """ "dropped" or "stored" when nothing ever uses the call's result, else None."""
    if call[5] & AWAITED:
        return None
    if call[5] & DROPPED:
        return "dropped"
    stored = call[7] if len(call) > 7 else None
    if stored is not None and stored not in fn["loads"]:  # type: ignore[operator]
        return "stored"
    return None


@rule(
    "LS201",
    "coroutine-never-awaited",
    message="`{call}()` returns a coroutine that is never awaited: its body never runs",
    help="Add `await`, or schedule it with `asyncio.create_task(...)` and keep the task",
)
def coroutine_never_awaited(ctx: CheckContext) -> Iterator[Finding]:
    """## What it does
    Finds a call to a coroutine function, the project's own `async def` or a known async API
    (`asyncio.sleep`, `httpx.AsyncClient.get`, `AsyncSession.commit`, `Request.json`,
    `UploadFile.read`, asyncpg, ...), whose result is dropped, or stored in a variable that is
    never used again, so it is never awaited, scheduled or returned.

    ## Why is this bad?
    Calling a coroutine function only creates the coroutine object: nothing in its body runs until
    it is awaited. The commit is never sent, the notification never goes out, and Python only
    says "coroutine ... was never awaited" as a warning at garbage collection, if anyone reads it.

    ## Example
    ```python
    @app.post("/orders")
    async def create_order(order: Order, session: AsyncSession = Depends(get_session)):
        session.add(order)
        session.commit()
        notify_warehouse(order.id)
        return order
    ```

    Use instead:
    ```python
    @app.post("/orders")
    async def create_order(order: Order, session: AsyncSession = Depends(get_session)):
        session.add(order)
        await session.commit()
        await notify_warehouse(order.id)
        return order
    ```

    ## Details
    Async generators are not coroutines (calling one is how you iterate it) and are not
    reported. Methods that return an async context manager (`AsyncClient.stream`,
    `Pool.acquire`, `aiofiles.open`) and functions that return a Future that runs anyway
    (`asyncio.gather`, `loop.run_in_executor`) are not listed. The external APIs known to be
    coroutines are in `loopsafe/check/catalogue/awaitables.toml`; add yours under
    `[tool.loopsafe] awaitables`.
    """
    graph = ctx.graph
    awaitables = graph.catalogue.awaitables
    for key, fn in graph.functions():
        for call in fn["calls"]:
            how = _unused_result(fn, call)
            if how is None:
                continue
            target = graph.callee_function(key, call)
            if target is not None:
                callee = graph.function(target)
                if not callee["async"] or callee["gen"]:
                    continue
                shown = graph.display(target)
            else:
                name = graph.callee_name(key, call)
                if name is None or name not in awaitables:
                    continue
                shown = name
            where = "is dropped" if how == "dropped" else f"is stored in `{call[7]}` and never used"
            yield call_finding(
                graph,
                key,
                call,
                "LS201",
                "coroutine-never-awaited",
                f"`{shown}()` returns a coroutine that {where}: its body never runs",
                "Add `await`, or schedule it with `asyncio.create_task(...)` and keep the task",
            )


@rule(
    "LS202",
    "dropped-task",
    message="The task `{call}()` creates is not kept: it can be garbage-collected mid-flight",
    help="Run it in an `asyncio.TaskGroup`, or keep a reference until it is done",
)
def dropped_task(ctx: CheckContext) -> Iterator[Finding]:
    """## What it does
    Finds `asyncio.create_task(...)`, `asyncio.ensure_future(...)` or `loop.create_task(...)`
    whose task is not kept: the result is dropped, or stored in a variable never used again.

    ## Why is this bad?
    The event loop keeps only a weak reference to a task. A task nobody references can be
    garbage-collected before it finishes, silently, in the middle of its work; and its exception,
    if it fails, is never retrieved. The asyncio documentation says: "Save a reference to the
    result of this function, to avoid a task disappearing mid-execution."

    ## Example
    ```python
    @app.post("/signup")
    async def signup(user: User):
        asyncio.create_task(send_welcome_email(user.email))
        return {"ok": True}
    ```

    Use instead:
    ```python
    background_tasks: set[asyncio.Task[None]] = set()


    @app.post("/signup")
    async def signup(user: User):
        task = asyncio.create_task(send_welcome_email(user.email))
        background_tasks.add(task)
        task.add_done_callback(background_tasks.discard)
        return {"ok": True}
    ```

    Or FastAPI's `BackgroundTasks`, or an `asyncio.TaskGroup` when the request should wait.

    ## Details
    `TaskGroup.create_task` is not reported: the group keeps its tasks.

    ## Fix safety
    A dropped task is fixed by keeping it in a module-level set until it is done
    (`_background_tasks`), exactly the pattern the asyncio documentation gives.

    ## References
    - [asyncio.create_task](https://docs.python.org/3/library/asyncio-task.html#asyncio.create_task)
    """
    graph = ctx.graph
    for key, fn in graph.functions():
        for call in fn["calls"]:
            how = _unused_result(fn, call)
            if how is None:
                continue
            name = graph.callee_name(key, call)
            if name not in TASK_FACTORIES:
                continue
            shown = name.replace("AbstractEventLoop", "loop").replace("BaseEventLoop", "loop")
            yield call_finding(
                graph,
                key,
                call,
                "LS202",
                "dropped-task",
                f"The task `{shown}()` creates is not kept: it can be garbage-collected mid-flight",
                "Run it in an `asyncio.TaskGroup`, or keep a reference until it is done "
                "(`tasks.add(task); task.add_done_callback(tasks.discard)`)",
                fix="keep-task-reference" if how == "dropped" else None,
            )


@rule(
    "LS203",
    "event-loop-run-in-sync-handler",
    message="`{call}()` in sync {context} starts a second event loop for each request",
    help="Make the handler `async def` and `await` the coroutine",
)
def event_loop_run_in_sync_handler(ctx: CheckContext) -> Iterator[Finding]:
    """## What it does
    Finds `asyncio.run(...)`, `loop.run_until_complete(...)`, `anyio.run(...)` or `trio.run(...)`
    in a sync `def` route, dependency or other handler that FastAPI runs while its event loop runs.

    ## Why is this bad?
    FastAPI runs sync handlers in worker threads while the app's event loop is running. Calling
    `asyncio.run` there builds and tears down a second event loop for every request; objects bound
    to the app's loop (an `httpx.AsyncClient`, an `AsyncEngine`, locks, queues) fail or hang when
    used from it, and on the loop's own thread it raises "cannot be called from a running event
    loop".

    ## Example
    ```python
    @app.get("/rates")
    def rates():
        return asyncio.run(fetch_rates())
    ```

    Use instead:
    ```python
    @app.get("/rates")
    async def rates():
        return await fetch_rates()
    ```

    Sync code that must call into the app's loop from a worker thread can use
    `anyio.from_thread.run(fetch_rates)`.
    """
    graph = ctx.graph
    for key, fn in graph.functions():
        if fn["async"] or graph.role(key) is None:
            continue
        for call in fn["calls"]:
            name = graph.callee_name(key, call)
            if name not in LOOP_RUNNERS:
                continue
            shown = name.rpartition(".")[2] if "Loop" in name else name
            context = graph.context(key)
            yield call_finding(
                graph,
                key,
                call,
                "LS203",
                "event-loop-run-in-sync-handler",
                f"`{shown}()` in sync {context} starts a second event loop for each request",
                "Make the handler `async def` and `await` the coroutine; from a worker thread "
                "use `anyio.from_thread.run(...)` to run it on the app's loop",
            )


RULES = (coroutine_never_awaited, dropped_task, event_loop_run_in_sync_handler)
