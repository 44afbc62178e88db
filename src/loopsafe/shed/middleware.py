"""ShedMiddleware: pure ASGI load shedding, decided before routing.

Per-request state lives in locals. A rejected HTTP request costs one policy check and two sends
of a prebuilt 503 on a kept-alive connection; a rejected WebSocket handshake is accepted and
closed with 1013 (try again later), so the client sees why.
"""

from __future__ import annotations

import time
from typing import Any

from loopsafe.runtime._asgi import ASGIApp, Message, Receive, Scope, Send
from loopsafe.shed._responses import problem_body, send_problem
from loopsafe.shed.policies import make_policy
from loopsafe.shed.shedder import WAIT, Shedder, priority_of

DEFAULT_EXEMPT = ("/metrics", "/health", "/healthz", "/_loopsafe")
_BODY = problem_body(503, "Service Unavailable", "The server is overloaded; retry later.")


class ShedMiddleware:
    """Reject requests past capacity with 503 before they reach the app.

    ``app = ShedMiddleware(app, policy="adaptive")``, or ``loopsafe.install(app, shed=...)``.

    Args:
        app: the ASGI app to protect.
        policy: ``"static"``, ``"adaptive"``, ``"lag"``, names joined by ``+``, a policy object
            (``Static(...)``, ``Adaptive(...)``, ``Lag(...)``, ``Static(...) | Lag(...)``) or a
            list of these (all must admit a request).
        exempt: path prefixes never shed (default: the monitor's, or metrics, health and
            dashboard paths).
        priorities: ``{path prefix: "critical" | "normal" | "low"}``; others are "normal".
            Critical traffic is shed last, low traffic first.
        monitor: a loopsafe Monitor: the shedder shows in its snapshot and the lag policy reads
            its heartbeat.
        retry_after: the Retry-After header of a 503, in seconds (default 1).
        prometheus: True or a ``CollectorRegistry``: export metrics; None: when prometheus_client
            is installed; False: never.
    """

    def __init__(
        self,
        app: ASGIApp,
        policy: Any = "adaptive",
        *,
        exempt: tuple[str, ...] | None = None,
        priorities: dict[str, str] | None = None,
        monitor: Any = None,
        retry_after: int = 1,
        prometheus: Any = None,
    ) -> None:
        self.app = app
        self.monitor = monitor
        if exempt is None:
            exempt = monitor.exempt if monitor is not None else DEFAULT_EXEMPT
        self.exempt = tuple(exempt)
        self.priorities = priority_of(priorities or {})
        self.shedder = Shedder(make_policy(policy), prometheus=prometheus)
        self._retry = [(b"retry-after", str(int(retry_after)).encode())]
        if monitor is not None:
            monitor.shedder = self.shedder

    def _priority(self, path: str) -> str:
        for prefix, klass in self.priorities:
            if path.startswith(prefix):
                return klass
        return "normal"

    def _start(self) -> None:
        monitor = self.monitor
        heartbeat = getattr(monitor, "heartbeat", None) if monitor is not None else None
        self.shedder.start(heartbeat)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(scope, receive, send)
            return
        if kind not in ("http", "websocket") or scope["path"].startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        shedder = self.shedder
        if not shedder.started:
            self._start()  # a server without lifespan support
        priority = self._priority(scope["path"]) if self.priorities else "normal"
        reason = shedder.admit(priority)
        if reason is WAIT:
            reason = await shedder.wait(priority)
        if reason is not None:
            if kind == "http":
                await send_problem(send, receive, scope, 503, _BODY, self._retry)
            else:
                await _close_websocket(receive, send)
            return
        started = time.perf_counter()
        latency: float | None = None
        if kind == "websocket":
            # A WebSocket session is long-lived: it passed admission, but holding a slot for its
            # whole life would starve requests, and its length says nothing about capacity.
            shedder.release(None)
            await self.app(scope, receive, send)
            return

        async def send_timed(message: Message) -> None:
            nonlocal latency
            if latency is None and message["type"] == "http.response.start":
                latency = time.perf_counter() - started
            await send(message)

        try:
            await self.app(scope, receive, send_timed)
        finally:
            # Always: a disconnect or an exception frees the slot too.
            shedder.release(latency, _route_key(scope) if latency is not None else "")

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def receive_lifespan() -> Message:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._start()
            return message

        try:
            await self.app(scope, receive_lifespan, send)
        finally:
            self.shedder.stop()


def _route_key(scope: Scope) -> str:
    """The route template once Starlette routed the request (``/items/{id}``), else the path."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else str(scope.get("path", ""))


async def _close_websocket(receive: Receive, send: Send) -> None:
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.close", "code": 1013, "reason": "server overloaded"})
