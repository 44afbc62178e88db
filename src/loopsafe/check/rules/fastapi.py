"""LS5xx: FastAPI and Starlette specifics: upload files, streaming responses, the thread pool."""

from __future__ import annotations

from collections.abc import Iterator

from loopsafe.check.callgraph import Blocking
from loopsafe.check.context import CheckContext, call_finding, finding_at
from loopsafe.check.finding import Finding
from loopsafe.check.registry import rule

DEFAULT_TOKENS = 40  # anyio's default thread limiter, which FastAPI's sync routes share
# Waits that last until another thread acts, when called with no timeout at all.
UNBOUNDED_WAITS = frozenset(
    {
        "threading.Event.wait",
        "threading.Condition.wait",
        "threading.Semaphore.acquire",
        "threading.BoundedSemaphore.acquire",
        "threading.Barrier.wait",
        "threading.Thread.join",
        "queue.Queue.get",
        "queue.Queue.put",
        "queue.Queue.join",
        "concurrent.futures.Future.result",
        "subprocess.Popen.wait",
        "subprocess.Popen.communicate",
    }
)


@rule(
    "LS501",
    "sync-upload-file-access",
    message="`{call}` uses the sync file object of an `UploadFile` in {context}",
    help="Use the UploadFile's own async methods: `await file.read()`",
)
def sync_upload_file_access(ctx: CheckContext) -> Iterator[Finding]:
    """## What it does
    Finds `file.file.read()`, `.write()`, `.seek()` (and the other file methods) on an
    `UploadFile` inside an `async def`.

    ## Why is this bad?
    `UploadFile.file` is a sync `SpooledTemporaryFile`: uploads over 1 MB are spooled to disk,
    so these calls do blocking disk I/O on the event loop. `UploadFile` has async methods for
    exactly this: Starlette runs the disk-backed ones in a worker thread.

    ## Example
    ```python
    @app.post("/avatar")
    async def avatar(file: UploadFile):
        data = file.file.read()
        file.file.seek(0)
        return {"size": len(data)}
    ```

    Use instead:
    ```python
    @app.post("/avatar")
    async def avatar(file: UploadFile):
        data = await file.read()
        await file.seek(0)
        return {"size": len(data)}
    ```

    ## Details
    In a sync `def` route `file.file.read()` is fine: it already runs in a worker thread. Reached
    through sync helpers from an `async def`, it is reported as LS102.

    ## Fix safety
    `file.file.read(n)` becomes `await file.read(n)` (likewise write, seek, close) where the call
    stands on its own, is assigned, returned or passed as an argument; a call whose result is
    used further (`file.file.read().decode()`) is left for you, as `await` would bind differently.
    """
    graph = ctx.graph
    for key in graph.async_functions():
        lines: set[int] = set()
        for call, target in graph.targets(key):
            if not isinstance(target, Blocking) or target.entry.category != "upload":
                continue
            if call[1] in lines:
                continue
            lines.add(call[1])
            method = target.name.rpartition(".")[2]
            yield call_finding(
                graph,
                key,
                call,
                "LS501",
                "sync-upload-file-access",
                f"`UploadFile.file.{method}()` uses the sync file object of an upload in "
                f"{graph.context(key)}",
                f"Use the UploadFile's async method instead: `await file.{method}(...)`",
                fix="await-upload-method",
            )


@rule(
    "LS503",
    "unresponsive-stream",
    message="This streaming loop {problem}",
    help="Await something in the loop, and stop when `await request.is_disconnected()`",
)
def unresponsive_stream(ctx: CheckContext) -> Iterator[Finding]:
    """## What it does
    Finds a `while True` loop in an async generator that feeds a `StreamingResponse` or an
    `EventSourceResponse` (SSE) and either never awaits anything, or never ends: no `break` or
    `return`, and no disconnect check (`await request.is_disconnected()`).

    ## Why is this bad?
    A producer loop that never awaits runs flat out between sends and ignores cancellation until
    the consumer blocks. One that never ends keeps running (and keeps its database connection,
    its subscription, its upstream request) after the browser has gone away, until the next send
    happens to fail; with many short-lived clients these pile up.

    ## Example
    ```python
    @app.get("/prices/stream")
    async def stream(request: Request):
        async def events():
            while True:
                yield f"data: {latest_price()}\\n\\n"
                await asyncio.sleep(1)

        return StreamingResponse(events(), media_type="text/event-stream")
    ```

    Use instead:
    ```python
    @app.get("/prices/stream")
    async def stream(request: Request):
        async def events():
            while not await request.is_disconnected():
                yield f"data: {latest_price()}\\n\\n"
                await asyncio.sleep(1)

        return StreamingResponse(events(), media_type="text/event-stream")
    ```
    """
    graph = ctx.graph
    for key, fn in graph.functions():
        if not fn["gen"] or graph.role(key) != "stream source":
            continue
        for line, col, has_await, exits, disconnect in fn["streams"]:
            if not has_await:
                problem = "never awaits: it ignores cancellation and hogs the loop between sends"
            elif not exits and not disconnect:
                problem = "never ends and never checks whether the client has disconnected"
            else:
                continue
            yield finding_at(
                graph,
                key,
                (line, col, line, col + 5),
                "LS503",
                "unresponsive-stream",
                f"This streaming loop {problem}",
                "Await in the loop, and stop when `await request.is_disconnected()` is true",
            )


@rule(
    "LS504",
    "thread-pool-hog",
    message="`{call}()` holds one of the thread pool's {tokens} tokens in sync {context}",
    help="Make the handler `async def` and await, or bound the wait with a timeout",
)
def thread_pool_hog(ctx: CheckContext) -> Iterator[Finding]:
    """## What it does
    Finds, in a sync `def` route or dependency, a sleep of one second or more (`time.sleep(5)`)
    or a wait with no timeout (`event.wait()`, `queue.get()`, `future.result()`,
    `thread.join()`, `proc.wait()`).

    ## Why is this bad?
    FastAPI runs sync routes and dependencies in anyio's thread pool, which has 40 tokens by
    default, shared by every sync handler of the worker. Each request that sleeps or waits holds
    a token for that long: 40 concurrent requests to such a route and every other sync route
    queues behind them, and a wait with no timeout can hold its token forever.

    ## Example
    ```python
    @app.get("/report")
    def report(job_id: str):
        done = jobs[job_id].done_event
        done.wait()
        return jobs[job_id].result
    ```

    Use instead:
    ```python
    @app.get("/report")
    async def report(job_id: str):
        await jobs[job_id].done.wait()  # an asyncio.Event
        return jobs[job_id].result
    ```

    Or keep the route sync and bound the wait: `done.wait(timeout=5)`.

    ## Details
    The message gives the pool size in force: 40, or the value the project assigns to
    `total_tokens` (for example in its lifespan).
    """
    graph = ctx.graph
    sizes = [t for summary in graph.modules.values() for t in summary.get("tokens", ())]
    tokens = max(sizes) if sizes else DEFAULT_TOKENS
    for key, fn in graph.functions():
        if fn["async"] or graph.role(key) not in ("route", "dependency"):
            continue
        for call in fn["calls"]:
            name = graph.callee_name(key, call)
            args, kwargs = call[8], call[9]
            if name == "time.sleep":
                seconds = args[0][1] if args and args[0][0] == "c" else None
                if (
                    not isinstance(seconds, (int, float))
                    or isinstance(seconds, bool)
                    or seconds < 1
                ):
                    continue
                what = f"`time.sleep({seconds})` holds one of the thread pool's {tokens} tokens"
            elif name in UNBOUNDED_WAITS and not args and "timeout" not in kwargs:
                shown = name.rpartition(".")[0].rpartition(".")[2] + "." + name.rpartition(".")[2]
                what = f"`{shown}()` with no timeout can hold one of the thread pool's {tokens} tokens forever"
            else:
                continue
            yield call_finding(
                graph,
                key,
                call,
                "LS504",
                "thread-pool-hog",
                f"{what} in sync {graph.context(key)}",
                "Make the handler `async def` and await an async equivalent, or bound the wait "
                "with a timeout; size the pool in the lifespan if the app needs more",
            )


SESSION_FACTORIES = frozenset(
    {
        "sqlalchemy.ext.asyncio.async_sessionmaker",
        "sqlalchemy.ext.asyncio.AsyncSession",
        "sqlmodel.ext.asyncio.session.AsyncSession",
    }
)
ASYNC_SESSION = "sqlalchemy.ext.asyncio.AsyncSession"


def _expiring_factories(ctx: CheckContext) -> list[str]:
    """Where the project builds async sessions that expire their objects on commit."""
    graph = ctx.graph
    sites = []
    for key, fn in graph.functions():
        for call in fn["calls"]:
            name = graph.callee_name(key, call)
            kwargs = call[9]
            if name == "sqlalchemy.orm.sessionmaker":
                cls = kwargs.get("class_")
                if not (cls and cls[0] == "e" and cls[1] is not None):
                    continue
                if not (graph.resolve_name(key, cls[1]) or "").endswith("AsyncSession"):
                    continue
            elif name not in SESSION_FACTORIES:
                continue
            if kwargs.get("expire_on_commit") != ("c", False):
                sites.append(f"{graph.path(key)}:{call[1]}")
    return sites


@rule(
    "LS502",
    "expired-object-after-commit",
    message="`{var}` is read after `await session.commit()`, which expired it: implicit I/O",
    help="Pass `expire_on_commit=False` to `async_sessionmaker`, or `await session.refresh(obj)`",
)
def expired_object_after_commit(ctx: CheckContext) -> Iterator[Finding]:
    """## What it does
    Finds an `async def` that adds an object to an `AsyncSession`, awaits `session.commit()`,
    and then uses the object again, in a project whose `async_sessionmaker` (or `AsyncSession`,
    or `sessionmaker(class_=AsyncSession)`) leaves `expire_on_commit` at its default, True.

    ## Why is this bad?
    With `expire_on_commit=True`, commit expires every attribute of every object in the session.
    The next attribute read must reload it from the database, which an `AsyncSession` cannot do
    implicitly: SQLAlchemy raises `MissingGreenlet` ("greenlet_spawn has not been called"), or,
    under a sync session, does hidden blocking I/O. It typically shows up as a 500 on the line
    that returns the freshly created object.

    ## Example
    ```python
    SessionLocal = async_sessionmaker(engine)


    @app.post("/items")
    async def create_item(item: ItemIn, session: AsyncSession = Depends(get_session)):
        row = Item(**item.model_dump())
        session.add(row)
        await session.commit()
        return {"id": row.id, "name": row.name}
    ```

    Use instead:
    ```python
    SessionLocal = async_sessionmaker(engine, expire_on_commit=False)


    @app.post("/items")
    async def create_item(item: ItemIn, session: AsyncSession = Depends(get_session)):
        row = Item(**item.model_dump())
        session.add(row)
        await session.commit()
        return {"id": row.id, "name": row.name}
    ```

    ## Details
    The finding is at the commit, and names where the expiring factory is built. An object that
    is refreshed after the commit (`await session.refresh(row)`) is not reported. The SQLAlchemy
    asyncio documentation recommends `expire_on_commit=False`.

    ## References
    - [SQLAlchemy: Preventing Implicit IO when Using AsyncSession](https://docs.sqlalchemy.org/en/20/orm/extensions/asyncio.html#asyncio-orm-avoid-lazyloads)
    """
    graph = ctx.graph
    sites = _expiring_factories(ctx)
    if not sites:
        return
    for key, fn in graph.functions():
        if not fn["async"]:
            continue
        added: dict[str, int] = {}
        refreshed: dict[str, int] = {}
        commits = []
        for call in fn["calls"]:
            name = graph.callee_name(key, call) or ""
            first = call[8][0] if call[8] else None
            var = (
                first[1][1]
                if first and first[0] == "e" and first[1] and first[1][0] == "n"
                else None
            )
            if name == f"{ASYNC_SESSION}.add" and var is not None:
                added.setdefault(var, call[1])
            elif name == f"{ASYNC_SESSION}.refresh" and var is not None:
                refreshed[var] = max(refreshed.get(var, 0), call[1])
            elif name == f"{ASYNC_SESSION}.commit":
                commits.append(call)
        for commit in commits:
            for var, line in added.items():
                used = fn["loads"].get(var, 0)
                if line < commit[1] < used and refreshed.get(var, 0) < commit[1]:
                    yield call_finding(
                        graph,
                        key,
                        commit,
                        "LS502",
                        "expired-object-after-commit",
                        f"`{var}` is read after `await session.commit()`, which expired it "
                        f"(expire_on_commit is True at {sites[0]}): reading it is implicit I/O",
                        "Pass `expire_on_commit=False` to `async_sessionmaker(...)`, or "
                        f"`await session.refresh({var})` after the commit",
                    )
                    break


RULES = (
    sync_upload_file_access,
    expired_object_after_commit,
    unresponsive_stream,
    thread_pool_hog,
)
