"""LoopSafeMiddleware: pure ASGI. Starts and stops the monitor with the lifespan and times each
request. Per-request state lives in locals, never on ``self``: the watchdog reads the request a
stall happened in from this function's frame (see attribution.py)."""

from __future__ import annotations

import time
from typing import Any

from loopsafe.runtime import attribution
from loopsafe.runtime._asgi import ASGIApp, Message, Receive, Scope, Send
from loopsafe.runtime.monitor import Monitor, RequestInfo

_perf_counter = time.perf_counter


class LoopSafeMiddleware:
    """Wrap any ASGI app: ``app = LoopSafeMiddleware(app, threshold_ms=50)``."""

    def __init__(self, app: ASGIApp, *, monitor: Monitor | None = None, **options: Any) -> None:
        self.app = app
        self.monitor = monitor if monitor is not None else Monitor(**options)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http" and kind != "websocket":
            if kind == "lifespan":
                await self._lifespan(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        monitor = self.monitor
        if not monitor.running:
            monitor.start()  # a server without lifespan support: start on the first request
        # Everything per request is inline here, in one function: on a server that does little
        # per request, each extra function costs more in cache misses than in instructions.
        # Nothing is registered: when the loop stalls, the watchdog finds ``info`` among this
        # frame's locals (see attribution.py).
        if scope["path"].startswith(monitor.exempt):
            await self.app(scope, receive, send)
            return
        info = RequestInfo()
        info.scope = scope  # type: ignore[assignment]
        if monitor.otel:
            info.span = monitor.current_span()
        count_5xx = monitor.count_5xx and kind == "http"
        if count_5xx:
            info.status = 0
            info.send = send
            send = info.send_status  # reads the status on the way out
        monitor.requests_started += 1
        error = True
        started = _perf_counter()
        try:
            await self.app(scope, receive, send)
            error = count_5xx and info.status >= 500
        finally:
            seconds = _perf_counter() - started
            info.done = True
            if monitor.otel and getattr(info, "stalling", False):
                # Best effort: under cancellation the stall is still reported, just after
                # the span ended; delaying the cancellation would be worse.
                await monitor.reported(info)  # noqa: LS303
            # The route's figures: the entry last seen with this route object, when the
            # method, root path and FastAPI route context match it (monitor.route_stats).
            route = scope.get("route")
            last = monitor.last_label.get(id(route))
            fastapi = scope.get("fastapi")
            if (
                last is not None
                and last[0] is route
                and last[2] == scope.get("method")
                and last[3] == scope.get("root_path")
                and last[1]
                is (fastapi.get("effective_route_context") if fastapi.__class__ is dict else None)
            ):
                stats = last[4]
            else:
                stats = monitor.route_stats(scope)  # type: ignore[arg-type]
            stats.record(seconds, error)

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        monitor = self.monitor

        async def receive_lifespan() -> Message:
            message = await receive()
            if message["type"] == "lifespan.startup":
                monitor.start()
            return message

        async def send_lifespan(message: Message) -> None:
            if message["type"] in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
                monitor.stop()
            await send(message)

        try:
            await self.app(scope, receive_lifespan, send_lifespan)
        finally:
            monitor.stop()


attribution.register(LoopSafeMiddleware.__call__.__code__)
