"""The measurements: each route alone, then n at once, with the monitor's stalls in between.

The serialization factor is the wall time of n concurrent requests over the best they could take:
one request's time, or the server's CPU time outside stalls when the route is CPU-heavy, whichever
is larger, plus the fixed cost of n requests (measured on an empty endpoint in the same server).
Time the host kept the server's loop off the CPU is taken out of the concurrent run. 1.0 is perfect overlap; n means the requests ran one after another.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from loopsafe.probe._protocol import PING_PATH
from loopsafe.probe.plan import PlannedRequest

SCHEMA_VERSION = 1
SETTLE_S = 0.15  # the watchdog reports a stall within a poll or two of the loop ticking again


@dataclass
class RouteResult:
    """One route's figures; ``to_json`` is the stable ``--json`` entry."""

    route: str
    request: str | None = None
    n: int | None = None  # concurrent requests sent (the samples may set fewer for slow routes)
    status: str = "skipped"  # ok, client_error, server_error, timeout, failed, skipped
    http_status: int | None = None
    single_s: float | None = None
    concurrent_s: float | None = None
    ideal_s: float | None = None
    serialization_factor: float | None = None
    verdict: str | None = None  # ok, blocks, serializes, hangs; None when not measured
    reason: str | None = None
    stalls: list[dict[str, Any]] | None = field(default_factory=list)
    threadpool: dict[str, int] | None = None
    failed_requests: int = 0
    started_at: float | None = None
    ended_at: float | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ProbeResult:
    target: str
    n: int
    threshold_ms: float | None
    max_factor: float
    baseline: dict[str, float] = field(default_factory=dict)
    routes: list[RouteResult] = field(default_factory=list)
    lag: list[tuple[float, float]] = field(default_factory=list)
    started_at: float = 0.0
    ended_at: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[RouteResult]:
        return [r for r in self.routes if r.verdict in ("blocks", "serializes", "hangs")]

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "target": self.target,
            "n": self.n,
            "threshold_ms": self.threshold_ms,
            "max_factor": self.max_factor,
            "baseline": self.baseline,
            "started_at": self.started_at,
            "duration_s": round(self.ended_at - self.started_at, 3),
            "routes": [r.to_json() for r in self.routes],
            "lag": [[round(t, 3), round(v, 6)] for t, v in self.lag],
            "notes": self.notes,
        }


def group_stalls(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stall events grouped by culprit line: count, total and max, one example stack."""
    groups: dict[str, dict[str, Any]] = {}
    for event in events:
        frame = event.get("user_frame") or event.get("culprit") or {}
        key = f"{frame.get('path')}:{frame.get('line')}"
        group = groups.get(key)
        if group is None:
            group = groups[key] = {
                "count": 0,
                "total_s": 0.0,
                "max_s": 0.0,
                "route": event.get("route"),
                "culprit": event.get("culprit"),
                "user_frame": event.get("user_frame"),
                "stack": event.get("stack") or [],
                "events": [],  # [started_at, duration_s] of each stall
            }
        group["count"] += 1
        group["total_s"] = round(group["total_s"] + event["duration_s"], 6)
        group["max_s"] = max(group["max_s"], event["duration_s"])
        group["events"].append([event.get("started_at"), event["duration_s"]])
    return sorted(groups.values(), key=lambda g: -g["total_s"])


class Prober:
    """Runs the plan against a started target; ``progress(route)`` is called as each starts."""

    def __init__(
        self,
        target: Any,
        *,
        n: int = 16,
        timeout: float = 10.0,
        max_factor: float = 1.5,
        max_time: float = 300.0,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.target = target
        self.n = n
        self.timeout = timeout
        self.max_factor = max_factor
        self.max_time = max_time
        self.progress = progress or (lambda route: None)
        self._last_id = 0
        self._lag: list[tuple[float, float]] = []

    async def run(self, planned: list[PlannedRequest]) -> ProbeResult:
        import httpx

        threshold = None
        first = await self._snapshot()
        if first is not None:
            threshold = round(first.get("threshold_s", 0) * 1000, 3)
            self._last_id = max((e["id"] for e in first.get("stalls", [])), default=0)
        result = ProbeResult(self.target.base_url, self.n, threshold, self.max_factor)
        result.started_at = time.time()
        if first is None:
            result.notes.append(
                "no loopsafe monitor reachable (start the app by import path, or install the "
                "dashboard): stalls are not known"
            )
        deadline = time.monotonic() + self.max_time
        most = max([self.n, *(r.n or 0 for r in planned)])
        limits = httpx.Limits(max_connections=most * 2, max_keepalive_connections=most * 2)
        async with httpx.AsyncClient(
            base_url=self.target.base_url, limits=limits, timeout=self.timeout
        ) as client:
            result.baseline = await self._baseline(client)
            overhead = result.baseline["overhead_s"]
            for request in planned:
                if request.skip is not None:
                    result.routes.append(RouteResult(request.route, reason=request.skip))
                    continue
                if time.monotonic() > deadline:
                    result.routes.append(
                        RouteResult(request.route, reason="the probe's time (--max-time) ran out")
                    )
                    continue
                self.progress(request.route)
                result.routes.append(await self._route(client, request, overhead))
        result.ended_at = time.time()
        await self._collect_lag()
        result.lag = [(t, v) for t, v in self._lag if t >= result.started_at - 1]
        return result

    async def _collect_lag(self) -> None:
        """Keep the server's lag series (before a restart too: a new server starts a new one)."""
        series = await asyncio.to_thread(self.target.get, "/series")
        newest = self._lag[-1][0] if self._lag else 0.0
        for t, v in (series or {}).get("points", []):
            if t > newest:
                self._lag.append((t, v))

    async def _restart(self) -> None:
        await self._collect_lag()
        await asyncio.to_thread(self.target.restart)
        self._last_id = 0

    async def _snapshot(self) -> dict[str, Any] | None:
        data: dict[str, Any] | None = await asyncio.to_thread(self.target.get, "/snapshot")
        return data

    async def _baseline(self, client: Any) -> dict[str, float]:
        """The fixed cost of one request, and of n at once, on an empty endpoint."""
        if self.target.remote:
            async with _empty_server() as url:
                return await self._time_pair(client, f"{url}/")
        return await self._time_pair(client, PING_PATH)

    async def _time_pair(self, client: Any, url: str) -> dict[str, float]:
        await client.get(url)
        singles = []
        for _ in range(5):
            start = time.perf_counter()
            await client.get(url)
            singles.append(time.perf_counter() - start)
        concurrent = []
        for _ in range(3):
            start = time.perf_counter()
            await asyncio.gather(*(client.get(url) for _ in range(self.n)))
            concurrent.append(time.perf_counter() - start)
        single, many = min(singles), min(concurrent)
        return {
            "single_s": round(single, 6),
            "concurrent_s": round(many, 6),
            "overhead_s": round(max(0.0, many - single), 6),
        }

    async def _send(self, client: Any, request: PlannedRequest) -> Any:
        """One request, its whole body read; an event stream (SSE) up to its first event,
        since it may never end."""
        async with client.stream(
            request.method,
            request.url,
            headers=request.headers or None,
            json=request.json,
            data=request.form,
            files=request.files or None,
        ) as response:
            if response.headers.get("content-type", "").startswith("text/event-stream"):
                async for _ in response.aiter_raw():
                    break
            else:
                await response.aread()
        return response

    async def _route(self, client: Any, request: PlannedRequest, overhead: float) -> RouteResult:
        import httpx

        n = request.n or self.n
        # The fixed cost was measured for self.n requests at once; it grows with their number.
        overhead = overhead * n / self.n
        result = RouteResult(request.route, f"{request.method} {request.url}", n=n)
        result.started_at = time.time()
        before = await self._snapshot()
        try:
            response = await self._send(client, request)
        except httpx.TimeoutException:
            await self._hung(result)
            return result
        except httpx.TransportError as exc:
            result.status, result.reason = "failed", f"{type(exc).__name__}: {exc}"
            await self._recover(result)
            return result
        result.http_status = response.status_code
        result.status = _status(response.status_code)
        singles = []
        for _ in range(3):
            start = time.perf_counter()
            with contextlib.suppress(httpx.HTTPError):
                await self._send(client, request)
            singles.append(time.perf_counter() - start)
        single = min(singles)
        all_events: list[dict[str, Any]] = []
        outcomes: list[Any] = []
        best: tuple[float, float, float] | None = None  # (factor, concurrent, ideal)
        after: dict[str, Any] | None = None
        # A factor above the limit with no stall is measured again (up to three times, the best
        # kept): a busy machine can slow one run, a lock or a small pool slows every run.
        for _ in range(3):
            middle = await self._snapshot()
            started_wall = time.time()
            start = time.perf_counter()
            outcomes = await asyncio.gather(
                *(self._send(client, request) for _ in range(n)), return_exceptions=True
            )
            concurrent = time.perf_counter() - start
            await asyncio.sleep(SETTLE_S)
            after = await self._snapshot()
            floor = single
            if after is not None and middle is not None and after.get("loop_wait_s") is not None:
                # The time the host kept the loop off the CPU is not the route's doing.
                starved = after["loop_wait_s"] - (middle.get("loop_wait_s") or 0.0)
                concurrent = max(concurrent - starved, 0.0)
            if after is not None and middle is not None:
                events = self._new_stalls(after)
                all_events.extend(events)
                if "cpu_s" in after:
                    # CPU time cannot overlap beyond what the GIL and the cores allow: the
                    # server's CPU time outside stalls is a floor for the concurrent run, so
                    # CPU-heavy routes are not called serial for being CPU-heavy.
                    blocked = sum(
                        e["duration_s"]
                        for e in events
                        if (e.get("started_at") or 0) >= started_wall - 0.01
                    )
                    floor = max(floor, after["cpu_s"] - middle["cpu_s"] - blocked)
            # The n requests cannot finish before the fixed cost of sending n is paid.
            ideal = floor + overhead
            factor = concurrent / ideal if ideal > 0 else float("inf")
            if best is None or factor < best[0]:
                best = (factor, concurrent, ideal)
            timed_out = any(isinstance(o, httpx.TimeoutException) for o in outcomes)
            if all_events or timed_out or best[0] <= self.max_factor:
                break
        assert best is not None
        result.ended_at = time.time()
        result.failed_requests = sum(isinstance(o, BaseException) for o in outcomes)
        result.single_s, result.concurrent_s = round(single, 6), round(best[1], 6)
        ideal = best[2]
        if after is not None and before is not None:
            result.stalls = group_stalls(all_events)
            result.threadpool = {
                "saturation_events": after["threadpool"].get("saturation_events", 0)
                - before["threadpool"].get("saturation_events", 0),
                "max_used": after["threadpool"].get("max_used", 0),
                "total": after["threadpool"].get("total", 0),
            }
        else:
            result.stalls = None
        result.ideal_s = round(ideal, 6)
        result.serialization_factor = round(best[0], 2) if ideal > 0 else None
        if any(isinstance(o, httpx.TimeoutException) for o in outcomes):
            result.verdict = "hangs"
            result.reason = f"{result.failed_requests} of {n} concurrent requests timed out"
            await self._recover(result)
        elif result.stalls:
            result.verdict = "blocks"
            top = result.stalls[0]
            frame = top["user_frame"] or top["culprit"] or {}
            result.reason = (
                f"the event loop was blocked {top['count']} time(s), up to "
                f"{top['max_s'] * 1000:.0f} ms, at {frame.get('path')}:{frame.get('line')}"
            )
        elif (
            result.serialization_factor is not None
            and result.serialization_factor > self.max_factor
        ):
            result.verdict = "serializes"
            result.reason = _why_serial(result)
        else:
            result.verdict = "ok"
        return result

    def _new_stalls(self, snapshot: dict[str, Any]) -> list[dict[str, Any]]:
        events = [e for e in snapshot.get("stalls", []) if e["id"] > self._last_id]
        if events:
            self._last_id = max(e["id"] for e in events)
        return events

    async def _hung(self, result: RouteResult) -> None:
        result.status, result.verdict = "timeout", "hangs"
        snapshot = await self._snapshot()
        stack = (snapshot or {}).get("loop_stack")
        if snapshot is not None and snapshot.get("stuck_s", 0) > 1 and stack:
            from loopsafe.runtime import stacks

            frames = tuple(stacks.Frame(f["path"], f["line"], f["function"]) for f in stack)
            user = stacks.user_frame(frames) or frames[-1]
            culprit = stack[-1]
            result.stalls = [
                {
                    "count": 1,
                    "total_s": snapshot["stuck_s"],
                    "max_s": snapshot["stuck_s"],
                    "route": result.route,
                    "culprit": culprit,
                    "user_frame": next(
                        (f for f in stack if f["path"] == user.path and f["line"] == user.line),
                        culprit,
                    ),
                    "stack": stack,
                    "events": [[time.time() - snapshot["stuck_s"], snapshot["stuck_s"]]],
                }
            ]
            result.reason = (
                f"no answer within {self.timeout:g} s: the event loop has been blocked for "
                f"{snapshot['stuck_s']:.1f} s at {user.path}:{user.line} (server restarted)"
            )
            await self._restart()
        else:
            result.reason = (
                f"no answer within {self.timeout:g} s while the event loop stayed free: an await "
                "that never completes (a call without a timeout, a lock never released?)"
            )
            await self._recover(result)
        result.ended_at = time.time()

    async def _recover(self, result: RouteResult) -> None:
        """Restart a server that died or whose loop is stuck, so the next routes still run."""
        snapshot = await self._snapshot()
        dead = not self.target.alive()
        if dead or (snapshot is not None and snapshot.get("stuck_s", 0) > 1):
            await self._restart()
            note = "the server died and was restarted" if dead else "server restarted"
            result.reason = f"{result.reason} ({note})" if result.reason else note


def _status(code: int) -> str:
    if code >= 500:
        return "server_error"
    if code >= 400:
        return "client_error"
    return "ok"


def _why_serial(result: RouteResult) -> str:
    pool = result.threadpool or {}
    if pool.get("saturation_events"):
        return (
            f"the thread pool ran out of tokens ({pool.get('total')} in all): requests waited "
            "for a thread, not for the loop"
        )
    return "no stall above the threshold: the requests wait on something shared (a lock, a pool)"


@contextlib.asynccontextmanager
async def _empty_server() -> Any:
    """A server that answers 204 at once, in a thread of its own: the client's own cost of n
    requests, for servers the probe did not start."""
    ready = threading.Event()
    holder: dict[str, Any] = {}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        holder["port"] = server.sockets[0].getsockname()[1]
        holder["stop"] = asyncio.Event()
        holder["loop"] = asyncio.get_running_loop()
        ready.set()
        async with server:
            await holder["stop"].wait()

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    ready.wait(5)
    try:
        yield f"http://127.0.0.1:{holder['port']}"
    finally:
        holder["loop"].call_soon_threadsafe(holder["stop"].set)
        thread.join(5)
