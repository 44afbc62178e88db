"""LS3xx: cancellation that is swallowed or cut short, and outbound calls with no timeout."""

from __future__ import annotations

from collections.abc import Iterator

from loopsafe.check.context import CheckContext, call_finding, finding_at
from loopsafe.check.finding import Finding
from loopsafe.check.index import AWAITED, IN_CANCEL_HANDLER, IN_FINALLY, IN_TIMEOUT, SHIELDED
from loopsafe.check.registry import rule

CANCELLATION = frozenset(
    {
        "asyncio.CancelledError",
        "asyncio.exceptions.CancelledError",
        "concurrent.futures.CancelledError",
        "builtins.BaseException",
        "trio.Cancelled",
    }
)
# Awaits that wait on a peer forever unless something bounds them: the library has no default.
NO_DEFAULT_TIMEOUT = frozenset(
    {
        "asyncio.open_connection",
        "asyncio.open_unix_connection",
        "asyncio.StreamReader.read",
        "asyncio.StreamReader.readline",
        "asyncio.StreamReader.readexactly",
        "asyncio.StreamReader.readuntil",
        "asyncio.AbstractEventLoop.sock_connect",
        "asyncio.AbstractEventLoop.sock_recv",
        "asyncio.AbstractEventLoop.sock_accept",
    }
)
HTTPX = frozenset(
    {
        "httpx.AsyncClient",
        "httpx.Client",
        "httpx.AsyncClient.get",
        "httpx.AsyncClient.post",
        "httpx.AsyncClient.put",
        "httpx.AsyncClient.patch",
        "httpx.AsyncClient.delete",
        "httpx.AsyncClient.request",
        "httpx.AsyncClient.stream",
        "httpx.get",
        "httpx.post",
        "httpx.request",
    }
)
SHIELDS = frozenset({"asyncio.shield", "anyio.CancelScope", "trio.CancelScope"})
# Cleanups that protect themselves from cancellation (httpcore shields the connection release).
SELF_SHIELDING = frozenset({"httpx.Response.aclose", "httpx.AsyncClient.aclose"})


@rule(
    "LS301",
    "swallowed-cancellation",
    message="{handler} catches the cancellation of the `await` above and does not re-raise it",
    help="Re-raise with a bare `raise` after cleaning up, or catch `Exception` instead",
)
def swallowed_cancellation(ctx: CheckContext) -> Iterator[Finding]:
    """## What it does
    Finds a bare `except:`, `except BaseException:` or `except asyncio.CancelledError:` around an
    `await` in an `async def`, whose body does not re-raise.

    ## Why is this bad?
    Cancellation is how asyncio stops work: request timeouts, a client that went away, a
    `TaskGroup` whose sibling failed, server shutdown. It arrives as `CancelledError` at the
    `await`. A handler that catches it and carries on turns "stop now" into "keep going": the
    task runs past its deadline, `TaskGroup` and `asyncio.timeout` stop working, and shutdown
    hangs waiting for it.

    ## Example
    ```python
    async def poll_prices():
        while True:
            try:
                await refresh_prices()
            except BaseException:
                logger.exception("refresh failed")
            await asyncio.sleep(60)
    ```

    Use instead:
    ```python
    async def poll_prices():
        while True:
            try:
                await refresh_prices()
            except Exception:
                logger.exception("refresh failed")
            await asyncio.sleep(60)
    ```

    ## Details
    Any `raise` in the handler counts as re-raising. A `try` whose body only awaits a task or
    future object (`task.cancel(); try: await task; except CancelledError: pass`) is the
    idiomatic way to wait for a task you cancelled yourself and is not reported.
    """
    graph = ctx.graph
    for key, fn in graph.functions():
        if not fn["async"]:
            continue
        for line, col, end_line, end_col, types, reraises, awaits_call in fn["handlers"]:
            if reraises or not awaits_call:
                continue
            if types is None:
                handler = "Bare `except:`"
            else:
                names = [graph.resolve_name(key, t) for t in types]
                caught = [n for n in names if n in CANCELLATION]
                if not caught:
                    continue
                handler = f"`except {caught[0].replace('builtins.', '')}`"
            yield finding_at(
                graph,
                key,
                (line, col, end_line, end_col),
                "LS301",
                "swallowed-cancellation",
                f"{handler} catches the cancellation of the `await` above and does not re-raise it",
                "Re-raise with a bare `raise` after cleaning up, or catch `Exception` "
                "(which does not include `CancelledError`) instead",
            )


def _is_none(marker: object) -> bool:
    return marker == ("c", None)


@rule(
    "LS302",
    "missing-timeout",
    message="`{call}()` {problem}: a slow peer hangs this request forever",
    help="Pass a timeout, or wrap the await in `async with asyncio.timeout(...)`",
)
def missing_timeout(ctx: CheckContext) -> Iterator[Finding]:
    """## What it does
    Finds outbound calls whose timeout is switched off, and awaits on a peer that nothing bounds:

    - `httpx.AsyncClient(timeout=None)`, `httpx.Timeout(None)` and `timeout=None` on a request
      (httpx's default is 5 seconds; `None` removes it);
    - `aiohttp.ClientTimeout()` or `ClientTimeout(total=None)` with no other limit;
    - `asyncio.wait_for(aw, None)` or `timeout=None`;
    - in an `async def`, an await of an API with no default timeout that no
      `asyncio.timeout`/`wait_for`/`anyio.fail_after`/`move_on_after` bounds:
      `asyncio.open_connection`, `asyncio.open_unix_connection`, `StreamReader.read`,
      `readline`, `readexactly`, `readuntil`, and `loop.sock_connect/sock_recv/sock_accept`.

    ## Why is this bad?
    Without a timeout, one slow or dead upstream holds the request, its connection and its
    memory forever; under load these pile up until the worker runs out of them, and the
    upstream's outage becomes yours.

    ## Example
    ```python
    client = httpx.AsyncClient(timeout=None)


    async def quote(sku: str):
        reader, writer = await asyncio.open_connection("pricing.internal", 9000)
        return await reader.readline()
    ```

    Use instead:
    ```python
    client = httpx.AsyncClient(timeout=httpx.Timeout(5.0, connect=2.0))


    async def quote(sku: str):
        async with asyncio.timeout(2):
            reader, writer = await asyncio.open_connection("pricing.internal", 9000)
            return await reader.readline()
    ```

    ## Details
    Libraries with a default timeout are not reported when the default is kept: httpx (5 s),
    aiohttp sessions (5 minutes in total), asyncpg's `connect` (60 s). asyncpg's queries have no
    default timeout but are commonly bounded by the server's `statement_timeout`, so they are
    not reported.
    """
    graph = ctx.graph
    for key, fn in graph.functions():
        for call in fn["calls"]:
            name = graph.callee_name(key, call)
            if name is None:
                continue
            args, kwargs = call[8], call[9]
            problem = None
            if name in HTTPX and _is_none(kwargs.get("timeout")):
                problem = "is given `timeout=None`"
            elif name == "httpx.Timeout" and not kwargs and args and _is_none(args[0]):
                problem = "switches every timeout off"
            elif name == "aiohttp.ClientTimeout" and (
                not set(kwargs) - {"total"} and (not kwargs or _is_none(kwargs.get("total")))
            ):
                problem = "sets no limit at all"
            elif name == "asyncio.wait_for" and (
                _is_none(kwargs.get("timeout")) or (len(args) > 1 and _is_none(args[1]))
            ):
                problem = "waits with `timeout=None`"
            elif (
                name in NO_DEFAULT_TIMEOUT
                and fn["async"]
                and call[5] & AWAITED
                and not call[5] & IN_TIMEOUT
            ):
                problem = "has no default timeout and nothing bounds this await"
            if problem is None:
                continue
            shown = name.replace("AbstractEventLoop", "loop")
            yield call_finding(
                graph,
                key,
                call,
                "LS302",
                "missing-timeout",
                f"`{shown}()` {problem}: a slow peer can hang this call forever",
                "Pass a finite timeout, or wrap the await in `async with asyncio.timeout(...)`",
            )


@rule(
    "LS303",
    "unshielded-await-in-cleanup",
    message="`await` in {where} can be cut short by cancellation: the cleanup may not finish",
    help="Shield it: `await asyncio.shield(...)` or `with anyio.CancelScope(shield=True):`",
)
def unshielded_await_in_cleanup(ctx: CheckContext) -> Iterator[Finding]:
    """## What it does
    Finds an `await` in a `finally:` block, or in an `except` that catches cancellation, that is
    not shielded from cancellation (`asyncio.shield(...)`, `anyio.CancelScope(shield=True)`,
    `anyio.move_on_after(..., shield=True)`).

    ## Why is this bad?
    This code runs while the task is being cancelled. Under anyio, which Starlette and FastAPI use
    for their task groups, cancellation is level-triggered: every `await` inside a cancelled scope
    is cancelled again at once, so `await session.close()` or `await client.post(audit)` in the
    cleanup never completes. Under asyncio a second `cancel()` (a timeout, shutdown) does the same.
    Connections leak, rows stay locked, the audit record is lost.

    ## Example
    ```python
    async def handle(conn):
        try:
            await serve(conn)
        finally:
            await conn.close()
    ```

    Use instead:
    ```python
    async def handle(conn):
        try:
            await serve(conn)
        finally:
            with anyio.CancelScope(shield=True):
                await conn.close()
    ```

    With plain asyncio: `await asyncio.shield(conn.close())`. Bound a shielded cleanup with a
    timeout (`anyio.move_on_after(5, shield=True)`) so that it cannot hang shutdown.

    ## Details
    `httpx.Response.aclose()` and `AsyncClient.aclose()` shield themselves (httpcore protects the
    connection release from cancellation) and are not reported. A lifespan's (and a startup or
    shutdown handler's) cleanup is not reported: it runs on an
    orderly shutdown, after `yield` returns, not while the task is being cancelled.
    """
    graph = ctx.graph
    for key, fn in graph.functions():
        # A lifespan's cleanup runs on an orderly shutdown, not under cancellation.
        if not fn["async"] or graph.role(key) in ("lifespan", "startup/shutdown handler"):
            continue
        for call in fn["calls"]:
            flags = call[5]
            if not flags & AWAITED or flags & SHIELDED:
                continue
            if not flags & (IN_FINALLY | IN_CANCEL_HANDLER):
                continue
            if graph.callee_name(key, call) in SHIELDS | SELF_SHIELDING:
                continue
            where = "`finally`" if flags & IN_FINALLY else "an `except` for cancellation"
            yield call_finding(
                graph,
                key,
                call,
                "LS303",
                "unshielded-await-in-cleanup",
                f"`await` in {where} can be cut short by cancellation: the cleanup may not finish",
                "Shield it: `with anyio.CancelScope(shield=True):` (bounded with "
                "`anyio.move_on_after(5, shield=True)`) or `await asyncio.shield(...)`",
            )


RULES = (swallowed_cancellation, missing_timeout, unshielded_await_in_cleanup)
