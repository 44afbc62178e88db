"""LS1xx: calls that block the event loop."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from loopsafe.check.callgraph import Blocking, Call, FuncKey, ProjectGraph
from loopsafe.check.context import CheckContext
from loopsafe.check.finding import ChainLink, Finding
from loopsafe.check.index import DROPPED
from loopsafe.check.registry import rule


@rule(
    "LS101",
    "blocking-call-in-async-function",
    message="`{call}` blocks the event loop in {context} ({category})",
    help="{why}. Use {instead} instead",
)
def blocking_call_in_async_function(ctx: CheckContext) -> Iterator[Finding]:
    """## What it does
    Finds a blocking call written directly inside an `async def`: a route, a dependency, a
    middleware's `dispatch` or ASGI `__call__`, a lifespan, an exception or websocket handler, a
    background task, or any other coroutine.

    ## Why is this bad?
    A FastAPI worker runs one event loop on one thread. While a coroutine runs a blocking call
    (`time.sleep`, `requests.get`, a sync database driver, `open()` on a large file, bcrypt), the loop
    runs nothing else: every other request of that worker waits, timeouts fire and latency spikes.

    ## Example
    ```python
    import time

    import requests
    from fastapi import FastAPI

    app = FastAPI()


    @app.get("/weather")
    async def weather(city: str):
        time.sleep(1)
        return requests.get(f"https://weather.example/{city}").json()
    ```

    Use instead:
    ```python
    import asyncio

    import httpx
    from fastapi import FastAPI, Request

    app = FastAPI()


    @app.get("/weather")
    async def weather(city: str, request: Request):
        await asyncio.sleep(1)
        client: httpx.AsyncClient = request.app.state.http
        return (await client.get(f"https://weather.example/{city}", timeout=5)).json()
    ```

    ## Details
    Calls are resolved like a type checker would: import aliases (`import requests as rq`,
    `from time import sleep as pause`), parameter annotations including FastAPI's
    `db: Session = Depends(get_db)` and `Annotated[Session, Depends(get_db)]`, locals assigned from
    constructors and factories (`SessionLocal = sessionmaker(...)`, `s = SessionLocal()`),
    module-level singletons, `self.x` set in `__init__`, class attributes, and return annotations.
    A sync `with` statement counts as a call of the context manager's `__enter__`, so
    `with threading.Lock():` is found.

    Which calls block is data: the catalogue in `loopsafe/check/catalogue/blocking.toml` gives each
    entry's category, why it blocks and what to use instead (see `docs/catalogue.md`).

    ## Fix safety
    `time.sleep(x)` written as a statement is fixed to `await asyncio.sleep(x)` (adding
    `import asyncio` when needed): the behaviour is the same, except that other tasks run
    during the sleep, which is the point.

    Not reported: a function passed, not called, to an offload (`asyncio.to_thread(fn)`,
    `loop.run_in_executor(None, fn)`, `run_in_threadpool`, `anyio.to_thread.run_sync`,
    `BackgroundTasks.add_task`, through `functools.partial` or a `lambda`); sync `def` functions
    (FastAPI runs sync routes and dependencies in its thread pool); code run at import time; and
    awaited calls.

    ## Options
    `[tool.loopsafe]` `blocking` (extra entries), `allow` (qualified names that never count as
    blocking), `returns`, `attributes`, `aliases` and `offloads`, all with the catalogue's schema.

    ## References
    - [FastAPI: Concurrency and async / await](https://fastapi.tiangolo.com/async/)
    - [asyncio: Running Blocking Code](https://docs.python.org/3/library/asyncio-dev.html#running-blocking-code)
    """
    graph = ctx.graph
    for key in graph.async_functions():
        lines: set[int] = set()
        for call, target in graph.targets(key):
            # One finding per line: `conn.execute(q).fetchall()` is one thing to fix.
            # Upload file objects are LS501's, with advice specific to UploadFile.
            if (
                isinstance(target, Blocking)
                and target.entry.category != "upload"
                and call[1] not in lines
            ):
                lines.add(call[1])
                finding = _finding(
                    graph, key, call, target, "LS101", "blocking-call-in-async-function", []
                )
                if target.name == "time.sleep" and call[5] & DROPPED:
                    finding = replace(finding, fix="await-asyncio-sleep")
                yield finding


@rule(
    "LS102",
    "blocking-call-reached-from-async-function",
    message="blocking call reached on the event loop: {context} -> {chain} ({category}; use {instead})",
    help="{why}. Use {instead} instead, or run `{first}` in a worker thread: `await asyncio.to_thread({first}, ...)`",
)
def blocking_call_reached_from_async_function(ctx: CheckContext) -> Iterator[Finding]:
    """## What it does
    Finds a blocking call that an `async def` reaches through the project's own sync functions and
    methods, at any depth and across modules. It is reported once, at the call inside the
    `async def` where the chain starts, with the whole chain.

    ## Why is this bad?
    A sync helper called from a coroutine runs on the event loop thread. When it, or anything it
    calls, blocks, the loop is frozen exactly as if the blocking call were written in the coroutine,
    but no per-file linter can see it: the blocking call is in another function, often in another
    module (a service calling a repository calling a sync database session).

    ## Example
    ```python
    # repositories.py
    from sqlalchemy.orm import Session


    class UserRepo:
        def __init__(self, db: Session) -> None:
            self.db = db

        def get(self, user_id: int):
            return self.db.get(User, user_id)


    # routes.py
    @router.get("/users/{user_id}")
    async def read_user(user_id: int, db: Session = Depends(get_db)):
        return UserRepo(db).get(user_id)
    ```

    Use instead:
    ```python
    # repositories.py
    from sqlalchemy.ext.asyncio import AsyncSession


    class UserRepo:
        def __init__(self, db: AsyncSession) -> None:
            self.db = db

        async def get(self, user_id: int):
            return await self.db.get(User, user_id)


    # routes.py
    @router.get("/users/{user_id}")
    async def read_user(user_id: int, db: AsyncSession = Depends(get_db)):
        return await UserRepo(db).get(user_id)
    ```

    Or keep the sync code and run it in a worker thread:
    `await asyncio.to_thread(UserRepo(db).get, user_id)`, or make the route a sync `def`.

    ## Details
    The chain is the shortest one from the call to a blocking call; each sync function reached
    from several coroutines is reported at each of their call sites, because each is a place to
    fix. Functions wrapped by an offload decorator, including the project's own (a function that
    hands its callable argument to `asyncio.to_thread` or another offload), are not entered.
    """
    graph = ctx.graph
    for key in graph.async_functions():
        for call, target in graph.targets(key):
            if isinstance(target, Blocking):
                continue
            hops = graph.chain_from(target)
            if not hops:
                continue
            last = hops[-1].target
            assert isinstance(last, Blocking)
            links = [
                ChainLink(
                    f"{graph.display(h.caller)}()", graph.path(h.caller), h.call[1], h.call[2] + 1
                )
                for h in hops
            ]
            yield _finding(
                graph, key, call, last, "LS102", "blocking-call-reached-from-async-function", links
            )


def _finding(
    graph: ProjectGraph,
    key: FuncKey,
    call: Call,
    target: Blocking,
    code: str,
    name: str,
    links: list[ChainLink],
) -> Finding:
    context = graph.context(key)
    entry = target.entry
    why = entry.why.rstrip(".")
    path = graph.path(key)
    start = ChainLink(context, path, call[1], call[2] + 1)
    shown = call_label(target.name)
    if code == "LS101":
        message = f"`{shown}` blocks the event loop in {context} ({entry.label})"
        help_text = f"{why}. Use {entry.instead} instead"
        chain: tuple[ChainLink, ...] = ()
    else:
        steps = " -> ".join([*(link.label for link in links), shown])
        message = (
            f"blocking call reached on the event loop: {context} -> {steps} "
            f"({entry.label}; use {_short(entry.instead)})"
        )
        first = _source_text(call[0]) or links[0].label.removesuffix("()").rpartition(".")[2]
        help_text = (
            f"{why}. Use {entry.instead} instead, or run `{first}` in a worker thread: "
            f"`await asyncio.to_thread({first}, ...)`"
        )
        chain = (start, *links, ChainLink(shown, links[-1].path, links[-1].line, links[-1].column))
    return Finding(
        code,
        name,
        message,
        path,
        call[1],
        call[2] + 1,
        call[3],
        call[4] + 1,
        help=help_text,
        context=context,
        chain=chain,
    )


def call_label(name: str) -> str:
    """How a blocking call is shown: ``time.sleep()``, ``open()``, ``with threading.Lock``."""
    name = name.removeprefix("builtins.")
    if name.endswith(".__enter__"):
        return f"with {name.removesuffix('.__enter__')}"
    if name.endswith(".__call__"):
        name = name.removesuffix(".__call__")
    return f"{name}()"


def _short(instead: str) -> str:
    """The first code span of the advice: "`AsyncSession` from ..." gives "AsyncSession"."""
    if instead.count("`") >= 2:
        return instead.split("`", 2)[1]
    return instead


def _source_text(expr: object) -> str | None:
    """``mailer.send`` back from the index's ("a", ("n", "mailer"), "send")."""
    if isinstance(expr, tuple) and expr:
        if expr[0] == "n":
            return str(expr[1])
        if expr[0] == "a":
            base = _source_text(expr[1])
            return None if base is None else f"{base}.{expr[2]}"
    return None


RULES = (blocking_call_in_async_function, blocking_call_reached_from_async_function)
