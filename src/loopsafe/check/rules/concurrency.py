"""LS4xx: fan-out nobody bounds, clients built per request, and polling loops."""

from __future__ import annotations

import re
from collections.abc import Iterator

from loopsafe.check.callgraph import ProjectGraph
from loopsafe.check.context import CheckContext, call_finding, finding_at
from loopsafe.check.finding import Finding
from loopsafe.check.index import IN_LOOP
from loopsafe.check.registry import rule

SPAWNERS = frozenset(
    {
        "asyncio.create_task",
        "asyncio.ensure_future",
        "asyncio.TaskGroup.create_task",
        "asyncio.AbstractEventLoop.create_task",
        "anyio.abc.TaskGroup.start_soon",
        "trio.Nursery.start_soon",
    }
)
GATHERS = frozenset({"asyncio.gather", "asyncio.wait", "asyncio.as_completed"})
LIMITERS = frozenset(
    {
        "asyncio.Semaphore",
        "asyncio.BoundedSemaphore",
        "anyio.Semaphore",
        "anyio.CapacityLimiter",
        "aiolimiter.AsyncLimiter",
        "trio.Semaphore",
        "trio.CapacityLimiter",
    }
)
_LIMITER_WORDS = frozenset(
    {"sem", "sema", "semaphore", "limiter", "bulkhead", "throttle", "throttler", "concurrency"}
)
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")


def _is_limiter_name(name: str) -> bool:
    """`upstream_sem`, `fetch_limiter`, `BULKHEAD`: whole words, so `BaseModel` and a pagination
    `limit` do not count."""
    return any(word.lower() in _LIMITER_WORDS for word in _WORD.findall(name))


CLIENT_FACTORIES = {
    "httpx.AsyncClient": "an HTTP connection pool",
    "httpx.Client": "an HTTP connection pool",
    "aiohttp.ClientSession": "an HTTP connection pool",
    "sqlalchemy.ext.asyncio.create_async_engine": "a database engine and its pool",
    "sqlalchemy.create_engine": "a database engine and its pool",
    "asyncpg.create_pool": "a database connection pool",
    "redis.asyncio.Redis": "a Redis connection pool",
    "redis.asyncio.from_url": "a Redis connection pool",
    "redis.Redis": "a Redis connection pool",
    "motor.motor_asyncio.AsyncIOMotorClient": "a MongoDB connection pool",
    "pymongo.MongoClient": "a MongoDB connection pool",
}
SLEEPS = frozenset({"asyncio.sleep", "anyio.sleep", "trio.sleep"})


def _bounded_module(graph: ProjectGraph, module: str, memo: dict[str, bool]) -> bool:
    """Does the module use a semaphore or limiter anywhere? Then its fan-out is taken as bounded."""
    if module in memo:
        return memo[module]
    summary = graph.modules[module]
    found = False
    for name, value in summary["symbols"].items():
        sym = graph.resolver.resolve(module, None, value)
        if _is_limiter_name(name) or (sym is not None and sym[1] in LIMITERS):
            found = True
            break
    if not found:
        for qual, fn in summary["functions"].items():
            typed = (*fn["ptypes"].values(), *fn["locals"].values())
            if (
                any(_is_limiter_name(n) for n in fn["loads"])
                or any(graph.callee_name((module, qual), c) in LIMITERS for c in fn["calls"])
                or any(_limiter_type(graph, module, qual, t) for t in typed)
            ):
                found = True
                break
    memo[module] = found
    return found


def _limiter_type(graph: ProjectGraph, module: str, qual: str, expr: object) -> bool:
    sym = graph.resolver.resolve(module, qual, expr)
    return sym is not None and sym[0] == "extinst" and sym[1] in LIMITERS


@rule(
    "LS401",
    "unbounded-fan-out",
    message="`{call}()` {how}: with no limit, one request can open thousands of connections",
    help="Bound it with an `asyncio.Semaphore` held around the I/O, or a bounded gather",
)
def unbounded_fan_out(ctx: CheckContext) -> Iterator[Finding]:
    """## What it does
    Finds fan-out over data of unknown size with nothing bounding it:
    `asyncio.gather(*[fetch(x) for x in items])` (also `asyncio.wait`, `asyncio.as_completed`),
    and `create_task`/`TaskGroup.create_task`/`start_soon` inside a loop or comprehension, in a
    module that uses no semaphore or limiter.

    ## Why is this bad?
    The size of `items` comes from the request or the database. With 20 items it is a nice
    speed-up; with 5,000 it opens 5,000 connections at once, exhausts the pool or the file
    descriptors, trips the upstream's rate limit, and takes every other request of the worker
    down with it.

    ## Example
    ```python
    async def prices(skus: list[str]):
        return await asyncio.gather(*[fetch_price(s) for s in skus])
    ```

    Use instead:
    ```python
    limit = asyncio.Semaphore(10)


    async def fetch_bounded(sku: str):
        async with limit:
            return await fetch_price(sku)


    async def prices(skus: list[str]):
        return await asyncio.gather(*[fetch_bounded(s) for s in skus])
    ```

    ## Details
    A loop over a literal (`[a, b, c]`, `range(3)`) is bounded and not reported. A module that
    creates or uses a semaphore or capacity limiter anywhere (`asyncio.Semaphore`,
    `anyio.CapacityLimiter`, `aiolimiter.AsyncLimiter`, or a name with the word `sem`,
    `semaphore`, `limiter`, `bulkhead`, `throttle` or `concurrency` in it) is taken to bound its
    fan-out; this keeps the rule quiet on
    code that bounds inside the spawned coroutine, at the cost of missing a second, unbounded
    fan-out in the same module.
    """
    graph = ctx.graph
    memo: dict[str, bool] = {}
    for key, fn in graph.functions():
        for call in fn["calls"]:
            name = graph.callee_name(key, call)
            if name in GATHERS:
                # Only coroutines created at the gather fan out; `gather(*tasks)` waits for
                # tasks already started (their creation in a loop is reported on its own).
                made = [a for a in call[8] if a[0] == "s" and len(a) > 2 and a[2]]
                if not made or all(a[1] for a in made):
                    continue
                how = "fans out over a collection of unknown size"
            elif name in SPAWNERS and call[5] & IN_LOOP:
                how = "starts a task per item of a loop of unknown size"
            else:
                continue
            if _bounded_module(graph, key[0], memo):
                continue
            shown = name.replace("AbstractEventLoop", "loop")
            yield call_finding(
                graph,
                key,
                call,
                "LS401",
                "unbounded-fan-out",
                f"`{shown}()` {how}, and nothing bounds how many run at once",
                "Bound it: hold an `asyncio.Semaphore` around each item's I/O, or use a "
                "bounded gather",
            )


@rule(
    "LS402",
    "client-per-request",
    message="`{call}()` in {context} builds {what} for every request",
    help="Create it once in the lifespan, keep it on `app.state`, and close it on shutdown",
)
def client_per_request(ctx: CheckContext) -> Iterator[Finding]:
    """## What it does
    Finds an HTTP client, database engine or connection pool (`httpx.AsyncClient()`,
    `aiohttp.ClientSession()`, `create_async_engine(...)`, `asyncpg.create_pool(...)`, Redis and
    MongoDB clients) constructed inside a route, a dependency or a middleware, so once per request.

    ## Why is this bad?
    These objects are pools: their whole point is to reuse connections. Built per request, every
    request pays for DNS, TCP and TLS handshakes (or a database login), connection reuse never
    happens, sockets linger in TIME_WAIT, and under load the process runs out of file descriptors
    or the database out of connections.

    ## Example
    ```python
    @app.get("/weather")
    async def weather(city: str):
        async with httpx.AsyncClient() as client:
            return (await client.get(f"https://weather.example/{city}")).json()
    ```

    Use instead:
    ```python
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        async with httpx.AsyncClient(timeout=5) as client:
            app.state.http = client
            yield


    @app.get("/weather")
    async def weather(city: str, request: Request):
        client: httpx.AsyncClient = request.app.state.http
        return (await client.get(f"https://weather.example/{city}")).json()
    ```

    ## Details
    Only functions FastAPI calls per request are checked (routes, dependencies, middleware);
    the lifespan and startup handlers are where these objects belong.
    """
    graph = ctx.graph
    for key, fn in graph.functions():
        role = graph.role(key)
        if role not in ("route", "dependency", "middleware"):
            continue
        for call in fn["calls"]:
            name = graph.callee_name(key, call)
            what = CLIENT_FACTORIES.get(name or "")
            if what is None:
                continue
            yield call_finding(
                graph,
                key,
                call,
                "LS402",
                "client-per-request",
                f"`{name}()` in {graph.context(key)} builds {what} for every request",
                "Create it once in the lifespan, keep it on `app.state` (or a module-level "
                "singleton), and close it on shutdown",
            )


@rule(
    "LS403",
    "busy-wait-polling",
    message="This loop polls with `{call}()` until a condition holds",
    help="Wait on an `asyncio.Event` (or `Condition`, `Queue`) that the producer sets",
)
def busy_wait_polling(ctx: CheckContext) -> Iterator[Finding]:
    """## What it does
    Finds a `while` loop in an `async def` whose body only sleeps (`await asyncio.sleep(...)`)
    and checks a condition, waiting for something another task will do.

    ## Why is this bad?
    Polling either wakes the loop needlessly (short sleeps burn CPU and keep every waiting
    request busy) or reacts late (long sleeps add up to the whole interval of latency). An
    `asyncio.Event` wakes the waiter exactly when the condition becomes true, at no cost before.

    ## Example
    ```python
    async def wait_until_ready(job):
        while not job.done:
            await asyncio.sleep(0.1)
    ```

    Use instead:
    ```python
    async def wait_until_ready(job):
        await job.done_event.wait()
    ```

    ## Details
    A loop that does work of its own besides sleeping (a periodic refresh, a heartbeat) is not
    polling and is not reported.
    """
    graph = ctx.graph
    for key, fn in graph.functions():
        if not fn["async"]:
            continue
        for line, col, callee in fn["polls"]:
            name = graph.resolve_name(key, callee)
            if name not in SLEEPS:
                continue
            yield finding_at(
                graph,
                key,
                (line, col, line, col + 5),
                "LS403",
                "busy-wait-polling",
                f"This loop polls with `{name}()` until a condition holds",
                "Wait on an `asyncio.Event` (or a `Condition` or `Queue`) that the code "
                "making the condition true sets",
            )


RULES = (unbounded_fan_out, client_per_request, busy_wait_polling)
