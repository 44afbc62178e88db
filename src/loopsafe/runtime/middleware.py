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
        if kind != "http" and kind != "websocket":
            if kind == "lifespan":
                await self._lifespan(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        monitor = self.monitor
        if not monitor.running:
            monitor.start()  # a server without lifespan support: start on the first request
        info = None
        if not scope["path"].startswith(monitor.exempt):
            info = monitor.request_started(scope, send)  # type: ignore[arg-type]
        if info is None:
            await self.app(scope, receive, send)
            return
        error = True
        try:
            # The status of HTTP responses is read on the way out (5xx count as errors).
            await self.app(scope, receive, info.send_status if kind == "http" else send)
            error = info.status >= 500
        finally:
            if monitor.otel and getattr(info, "stalling", False):
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
