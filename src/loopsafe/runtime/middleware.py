"""LoopSafeMiddleware: pure ASGI. Starts and stops the monitor with the lifespan, and tells it
which request each task serves. Per-request state lives in locals, never on ``self``."""

from __future__ import annotations

from typing import Any

from loopsafe.runtime._asgi import ASGIApp, Message, Receive, Scope, Send
from loopsafe.runtime.monitor import Monitor


class LoopSafeMiddleware:
    """Wrap any ASGI app: ``app = LoopSafeMiddleware(app, threshold_ms=50)``."""

    def __init__(self, app: ASGIApp, *, monitor: Monitor | None = None, **options: Any) -> None:
        self.app = app
        self.monitor = monitor if monitor is not None else Monitor(**options)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(scope, receive, send)
            return
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        monitor = self.monitor
        if not monitor.running:
            monitor.start()  # a server without lifespan support: start on the first request
        if scope["path"].startswith(monitor.exempt):
            await self.app(scope, receive, send)
            return
        info = monitor.request_started(scope)  # type: ignore[arg-type]
        if info is None:
            await self.app(scope, receive, send)
            return
        if kind == "http":
            info.send = send
            send = info.send_status
        error = True
        try:
            await self.app(scope, receive, send)
            error = info.status >= 500
        finally:
            if info.stalling and monitor.otel:
                # Best effort: under cancellation the stall is still reported, just after
                # the span ended; delaying the cancellation would be worse.
                await monitor.reported(info)  # noqa: LS303
            monitor.request_finished(info, error)

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
