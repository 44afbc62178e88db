"""The Monitor: owns the heartbeat, the watchdog thread, the figures and the sinks of one worker."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import sys
import threading
import time
from collections.abc import Awaitable
from types import FrameType
from typing import Any

from loopsafe._errors import ConfigError
from loopsafe.runtime import attribution
from loopsafe.runtime._asgi import Message, Send
from loopsafe.runtime.aggregate import Aggregate, _Route
from loopsafe.runtime.gcpauses import GcPauses, Owner
from loopsafe.runtime.heartbeat import Heartbeat
from loopsafe.runtime.sinks import Sink, default_sinks
from loopsafe.runtime.strict import StrictMode
from loopsafe.runtime.watchdog import StallEvent, Watchdog

log = logging.getLogger("loopsafe.runtime")
SCHEMA_VERSION = 1
_request_ids = itertools.count(1)


class RequestInfo:
    """What the watchdog needs to name the request a stalled task was serving.

    One is made per request, so it has no ``__init__`` (a class call that runs Python code
    costs twice as much): the middleware stores ``scope``, ``status`` and ``send`` with
    ``count_5xx``, and ``done`` when the request ends. The fields only a stall needs are set
    when needed; read them with ``getattr``: ``span`` (OpenTelemetry), ``stalling`` (the
    watchdog saw the request block and has not reported it yet), ``number`` (the request's
    number in this process, for its id).
    The watchdog finds it in the middleware's frame (see attribution.py).
    """

    __slots__ = ("done", "number", "scope", "send", "span", "stalling", "status")

    scope: dict[str, Any]
    done: bool  # the request has ended
    send: Send | None  # the server's send callable (with count_5xx)
    status: int  # the response status, once sent (with count_5xx)
    span: Any
    stalling: bool
    number: int

    def send_status(self, message: Message) -> Awaitable[None]:
        """The server's ``send``, noting the response status on the way. A plain function that
        returns the server's awaitable: no extra coroutine per message."""
        if message["type"] == "http.response.start":
            self.status = message["status"]
        return self.send(message)  # type: ignore[misc]  # set before it is handed out


def route_label(scope: dict[str, Any]) -> str:
    """``GET /items/{item_id}``: the route template once routing matched, never the raw path."""
    method = scope.get("method", "WEBSOCKET" if scope.get("type") == "websocket" else "")
    route = scope.get("route")
    path = getattr(route, "path", None) if route is not None else None
    # FastAPI >= 0.120 no longer copies included routes with their prefix: scope["route"] is
    # the router's own route ("/{sku}/offers"); the full template is on its route context.
    fastapi_scope = scope.get("fastapi")
    if path is not None and isinstance(fastapi_scope, dict):
        full = getattr(fastapi_scope.get("effective_route_context"), "path_format", None)
        if isinstance(full, str) and full.endswith(path):
            path = full
    if isinstance(path, str):
        root = scope.get("root_path", "") or ""
        return f"{method} {root}{path}"
    return f"{method} (unmatched)"


class Monitor:
    """Stall detection, thread-pool and request figures for one event loop (one worker process).

    Args:
        threshold_ms: a loop blocked at least this long is a stall (default 50).
        interval_ms: heartbeat period on the loop (default 10).
        exempt: path prefixes not counted in route figures (metrics, health, the dashboard).
        max_events: how many recent stall events ``snapshot()`` keeps.
        log_stalls: log one warning line per stall on the ``loopsafe.runtime`` logger.
        prometheus: export metrics through prometheus_client (True: the default registry, or a
            ``CollectorRegistry``; False: none; None: when prometheus_client is installed).
        sinks: more sinks (objects with optional ``on_stall(event)`` / ``on_tick(monitor)``).
        strict: for development and tests: "raise" (or True) makes a blocking call on the loop
            thread raise ``blockbuster.BlockingError`` where it happens; "log" logs it with its
            stack and lets it run. Off by default: it patches functions process-wide.
        otel: add a ``loopsafe.stall`` event to the request's OpenTelemetry span.
        count_5xx: also count HTTP responses with a 5xx status as errors in the route figures
            (requests that raise always count). It reads every ``send`` of every request: about
            a fifth of the monitor's per-request work, so it is off by default.
    """

    def __init__(
        self,
        *,
        threshold_ms: float = 50.0,
        interval_ms: float = 10.0,
        exempt: tuple[str, ...] = ("/metrics", "/health", "/healthz", "/_loopsafe"),
        max_events: int = 500,
        log_stalls: bool = True,
        prometheus: Any = None,
        sinks: tuple[Sink, ...] = (),
        strict: bool | str = False,
        otel: bool = False,
        count_5xx: bool = False,
    ) -> None:
        if not 1 <= threshold_ms <= 60_000:
            raise ConfigError(
                f"threshold_ms must be between 1 and 60000, got {threshold_ms} (install())"
            )
        if not 1 <= interval_ms <= threshold_ms:
            raise ConfigError(
                f"interval_ms must be between 1 and threshold_ms, got {interval_ms} (install())"
            )
        self.threshold = threshold_ms / 1000
        self.interval = interval_ms / 1000
        self.exempt = tuple(exempt)
        self.aggregate = Aggregate(max_events)
        self.sinks: list[Sink] = [*default_sinks(log_stalls, prometheus), *sinks]
        self.strict = StrictMode("raise" if strict is True else strict) if strict else None
        self._otel: Any = None
        if otel:
            try:
                from loopsafe.runtime.sinks import otel as otel_sink
            except ImportError:
                raise ConfigError(
                    "otel=True needs opentelemetry-api: pip install opentelemetry-api (install())"
                ) from None
            self._otel = otel_sink
            self.sinks.append(otel_sink.OTelSink())
        self.requests_started = 0  # in flight: this less the requests the routes counted
        self.started_at: float | None = None
        self._heartbeat: Heartbeat | None = None
        self._watchdog: Watchdog | None = None
        self._limiter: Any = None
        self.new_lags: list[tuple[float, float]] = []  # the heartbeat ticks since the last call
        self._ticks = 0
        self._lock = threading.Lock()
        self._failed: set[str] = set()
        # Stalls before routing matched (in a middleware), held by the watchdog until the
        # request's route is known or the request ends; only the watchdog thread touches it.
        self._held: dict[RequestInfo, list[StallEvent]] = {}
        self.running = False  # a plain attribute: the middleware reads it on every request
        self.otel = self._otel is not None
        self.count_5xx = bool(count_5xx)  # read by the middleware on every request
        self._labels: dict[tuple[Any, int, int, Any], tuple[Any, Any, Any, Any, _Route]] = {}
        self.last_label: dict[int, tuple[Any, Any, Any, Any, _Route]] = {}
        self.shedder: Any = None  # set by loopsafe.shed.ShedMiddleware(monitor=...)
        self.loop: asyncio.AbstractEventLoop | None = None  # the loop it watches, once started
        self._loop_thread = 0  # threading.get_ident() of the loop's thread, once started
        self._use_alarm = True  # False: the watchdog polls (as where there is no timerfd)
        self._gc_pauses = GcPauses()  # names the stalls the garbage collector causes

    # -- lifecycle (called on the loop) -------------------------------------------------------

    @property
    def heartbeat(self) -> Heartbeat | None:
        """The loop heartbeat while running (the shedder's lag policy reads it)."""
        return self._heartbeat if self.running else None

    def start(self) -> None:
        """Start on the running loop: heartbeat on the loop, watchdog in its own thread."""
        with self._lock:
            if self._watchdog is not None:
                return
            loop = self.loop = asyncio.get_running_loop()
            self.started_at = time.time()
            self._limiter = _default_limiter()
            self._heartbeat = Heartbeat(loop, self.interval)
            self._heartbeat.start()
            if self._limiter is not None:
                self._heartbeat.every_tick(self._sample_pool)
            if self.strict is not None:
                self.strict.activate()
            self._loop_thread = threading.get_ident()
            self._watchdog = Watchdog(
                self._heartbeat,
                self._loop_thread,
                self.threshold,
                poll=min(0.02, self.threshold / 3),
                task_info=self._task_info,
                on_stall=self._on_stall,
                on_tick=self._on_tick,
                span_of=self._otel.span_of if self._otel is not None else None,
                loop_native_id=threading.get_native_id(),
                on_host_pause=self.aggregate.add_host_pause,
                use_alarm=self._use_alarm,
                gc_pauses=self._gc_pauses,
            )
            # A collection on the loop thread long enough to be most of a stall notes the
            # request it stopped, in case the watchdog only sees it afterwards.
            self._gc_pauses.name_requests(self._gc_owner, self.threshold / 2)
            self._gc_pauses.install()
            self._watchdog.start()
            self.running = True

    def stop(self) -> None:
        """Stop the heartbeat and join the watchdog thread (it wakes at once when told to stop)."""
        with self._lock:
            if self._heartbeat is not None:
                self._heartbeat.stop()
            self._gc_pauses.remove()
            if self.strict is not None and self._watchdog is not None:
                self.strict.deactivate()
            watchdog, self._watchdog = self._watchdog, None
            self.running = False
        if watchdog is not None:
            watchdog.stop()
            if watchdog is not threading.current_thread():
                watchdog.join(timeout=2)
            self._on_tick(final=True)  # last figures and held stalls in

    def stuck_for(self) -> float:
        """Seconds since the loop last ticked: about 0 when it is free. Safe from any thread."""
        heartbeat = self._heartbeat
        return 0.0 if heartbeat is None else heartbeat.stuck_for()

    # -- requests (called on the loop by the middleware) -------------------------------------

    def exempt_path(self, path: str) -> bool:
        return path.startswith(self.exempt)

    def current_span(self) -> Any:
        """The OpenTelemetry span current in this task (with the OTel sink on)."""
        return self._otel.current_span() if self._otel is not None else None

    def route_stats(self, scope: dict[str, Any]) -> _Route:
        """The figures of the route this request was routed to (on the loop). The middleware
        checks the entry last seen with the route object itself and calls this when it does not
        match. The label of a route object is built once: the last (method, route context, root
        path) seen with each route object is checked first; FastAPI's route context counts: one router
        included under two prefixes is two routes."""
        route = scope.get("route")
        fastapi = scope.get("fastapi")
        context = fastapi.get("effective_route_context") if fastapi.__class__ is dict else None
        method = scope.get("method")
        root = scope.get("root_path")
        last = self.last_label.get(id(route))
        if (
            last is None
            or last[0] is not route
            or last[1] is not context
            or last[2] != method
            or last[3] != root
        ):
            last = self._route_entry(route, context, method, root, scope)
        return last[4]

    def _route_entry(
        self, route: Any, context: Any, method: Any, root: Any, scope: dict[str, Any]
    ) -> tuple[Any, Any, Any, Any, _Route]:
        """The cached (route, context, method, root path, figures) of a route seen under a new
        combination; the label is built only the first time (one router under two prefixes,
        or GET and HEAD, alternate here without rebuilding it)."""
        key = (method, id(route), id(context), root)
        cached = self._labels.get(key)
        if cached is None or cached[0] is not route or cached[1] is not context:
            if len(self._labels) > 10_000:  # routes made per request: do not grow without end
                self._labels.clear()
                self.last_label.clear()
            stats = self.aggregate.route_stats(route_label(scope))
            cached = self._labels[key] = (route, context, method, root, stats)
        self.last_label[id(route)] = cached
        return cached

    # -- watchdog side -----------------------------------------------------------------------

    def _task_info(
        self, task: asyncio.Task[Any] | None, frame: FrameType | None
    ) -> tuple[str | None, str | None, Any]:
        info = attribution.request_of(task, frame)
        if info is None:
            return None, None, None
        request_id = None
        for name, value in info.scope.get("headers") or ():
            if name == b"x-request-id":
                request_id = value.decode("latin-1")
                break
        if not request_id and not getattr(info, "number", 0):
            info.number = next(_request_ids)
        return route_label(info.scope), request_id or f"req-{os.getpid()}-{info.number}", info

    def _gc_owner(self) -> Owner | None:
        """Run by the garbage collector's callback after a long collection: the request the
        loop thread was serving, or None (another thread collected, or no request)."""
        if threading.get_ident() != self._loop_thread or self.loop is None:
            return None
        task = asyncio.current_task(self.loop)
        route, request_id, info = self._task_info(task, sys._getframe(1))
        if info is None:
            return None
        return route, request_id, task.get_name() if task is not None else None, info

    def _on_stall(self, event: StallEvent) -> None:
        info = event.request
        if info is not None and "route" not in info.scope and self._in_flight(info):
            # Routing has not matched yet: held until the route is known or the request ends.
            self._held.setdefault(info, []).append(event)
            return
        self._report(event)

    def _in_flight(self, info: RequestInfo) -> bool:
        return not getattr(info, "done", False)

    def _release_held(self, everything: bool = False) -> None:
        """Report the held stalls of requests that have a route now, or have finished."""
        for info in list(self._held):
            if everything or "route" in info.scope or not self._in_flight(info):
                for event in self._held.pop(info):
                    self._report(event)

    def _report(self, event: StallEvent) -> None:
        info, event.request = event.request, None
        if info is not None:
            event.route = route_label(info.scope)
        self.aggregate.add_stall(event)
        for sink in self.sinks:
            self._call(sink, "on_stall", event)
        if info is not None:
            info.stalling = False

    async def reported(self, info: RequestInfo) -> None:
        """With OpenTelemetry on, let the watchdog report this request's stall before the request
        (and its span) ends: at most a few polls, and only for a request that stalled."""
        for _ in range(10):
            if not getattr(info, "stalling", False):
                return
            await asyncio.sleep(self.threshold / 4)

    def _on_tick(self, lags: list[tuple[float, float]] | None = None, final: bool = False) -> None:
        if self._held:
            self._release_held(everything=final)
        self.new_lags = lags or []
        if self.new_lags:
            now_wall, now_mono = time.time(), time.monotonic()
            for tick, lag in self.new_lags:
                self.aggregate.add_lag(now_wall - (now_mono - tick), lag)
        elif (heartbeat := self._heartbeat) is not None and heartbeat.idle:
            self.aggregate.add_idle(time.time())
        for sink in self.sinks:
            self._call(sink, "on_tick", self)

    def _sample_pool(self) -> None:
        """On the loop, every 5th heartbeat (50 ms by default): anyio's limiter is the loop's."""
        self._ticks += 1
        if self._ticks % 5 != 1 or self._limiter is None:  # the first tick samples
            return
        try:
            stats = self._limiter.statistics()
            self.aggregate.add_pool_sample(
                time.time(), int(self._limiter.total_tokens), stats.borrowed_tokens,
                stats.tasks_waiting,
            )  # fmt: skip
        except Exception:
            self._limiter = None

    def _call(self, sink: Sink, hook: str, arg: Any) -> None:
        fn = getattr(sink, hook, None)
        if fn is None or f"{id(sink)}:{hook}" in self._failed:
            return
        try:
            fn(arg)
        except Exception:  # a broken sink is disabled and logged once; the app goes on
            self._failed.add(f"{id(sink)}:{hook}")
            log.exception("loopsafe sink %r failed in %s; it is disabled", sink, hook)

    # -- reading -----------------------------------------------------------------------------

    def in_flight(self) -> int:
        """Requests being served now (through the middleware, exempt paths aside). Cheap, safe
        from any thread: requests started less requests finished."""
        finished = sum(r.requests for r in list(self.aggregate.routes.values()))
        return max(0, self.requests_started - finished)

    def _requests_in_flight(self) -> list[RequestInfo]:
        """The requests being served, each found in its task's await chain (for snapshot(),
        which needs their routes; it costs a walk over the loop's tasks)."""
        loop = self.loop
        if loop is None or not self.running:
            return []
        try:
            tasks = asyncio.all_tasks(loop)
            current = asyncio.current_task(loop)
        except RuntimeError:
            return []
        found: list[RequestInfo] = []
        for task in tasks:
            if task is current:  # running, so its frames are on the loop thread's stack
                frame = sys._current_frames().get(self._loop_thread)
                info = attribution.on_stack(frame)
            else:
                info = attribution.in_task(task)
            if info is not None and not getattr(info, "done", False):
                found.append(info)
        return found

    def snapshot(self, max_events: int | None = None) -> dict[str, Any]:
        """Everything the monitor knows, as JSON-serialisable data (see docs/runtime.md)."""
        data = self.aggregate.snapshot(max_events)
        in_flight: dict[str, int] = {}
        for info in self._requests_in_flight():
            label = route_label(info.scope)
            in_flight[label] = in_flight.get(label, 0) + 1
        for label, count in in_flight.items():
            data["routes"].setdefault(label, {"requests": 0, "stalls": 0})["in_flight"] = count
        data["in_flight"] = sum(in_flight.values())
        data.update(
            schema_version=SCHEMA_VERSION,
            running=self.running,
            pid=os.getpid(),
            started_at=self.started_at,
            threshold_s=self.threshold,
            shed=self.shedder.snapshot() if self.shedder is not None else None,
        )
        return data


def _default_limiter() -> Any:
    """anyio's default thread limiter (FastAPI's sync routes share it), if anyio runs this loop."""
    try:
        import anyio.to_thread

        return anyio.to_thread.current_default_thread_limiter()
    except Exception:
        return None
