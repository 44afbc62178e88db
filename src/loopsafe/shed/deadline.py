"""Deadline: a request that takes too long is cancelled and answered with 504."""

from __future__ import annotations

import asyncio

from loopsafe._errors import ConfigError
from loopsafe.runtime._asgi import ASGIApp, Message, Receive, Scope, Send
from loopsafe.shed._responses import has_body, problem_body, send_problem

_BODY = problem_body(504, "Gateway Timeout", "The request took longer than its deadline.")


class Deadline:
    """Cancel a request's handler after ``seconds`` and answer 504 (pure ASGI middleware).

    ``app.add_middleware(loopsafe.Deadline, seconds=10, routes={"/reports": 60})``. The handler
    gets a ``CancelledError`` where it awaits, so its ``finally`` blocks and context managers
    run; a handler stuck in a thread (a sync route) is only answered once the thread returns,
    since a thread cannot be interrupted. When the response has already started, the
    response is cut short instead (the server then closes the connection).

    Args:
        app: the ASGI app.
        seconds: the deadline of every HTTP request (WebSockets and lifespan pass through).
        routes: ``{path prefix: seconds}`` for other deadlines (longest prefix wins; ``None``
            for no deadline).
        exempt: path prefixes without a deadline (default: metrics, health and dashboard).
    """

    def __init__(
        self,
        app: ASGIApp,
        seconds: float = 30.0,
        *,
        routes: dict[str, float | None] | None = None,
        exempt: tuple[str, ...] = ("/metrics", "/health", "/healthz", "/_loopsafe"),
    ) -> None:
        for where, value in (("seconds", seconds), *(routes or {}).items()):
            if value is not None and not 0 < value <= 86_400:
                raise ConfigError(
                    f"Deadline: {where} must be a number of seconds in (0, 86400], got {value}"
                )
        self.app = app
        self.seconds = seconds
        self.routes = sorted((routes or {}).items(), key=lambda item: -len(item[0]))
        self.exempt = tuple(exempt)
        self.exceeded = 0

    def _deadline(self, path: str) -> float | None:
        for prefix, seconds in self.routes:
            if path.startswith(prefix):
                return seconds
        return self.seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        seconds = self._deadline(scope["path"])
        if seconds is None:
            await self.app(scope, receive, send)
            return
        started = False
        body_read = False

        async def send_tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        async def receive_tracked() -> Message:
            nonlocal body_read
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_read = True
            return message

        timeout = asyncio.timeout(seconds)
        try:
            async with timeout:
                await self.app(scope, receive_tracked, send_tracked)
        except TimeoutError:
            if not timeout.expired():
                raise  # the app's own TimeoutError, not the deadline
            self.exceeded += 1
            if started:
                return  # cut short: the server closes the connection of an unfinished response
            # A body the handler did not finish reading: close rather than read it now.
            close = not body_read and has_body(scope.get("headers") or []) != 0
            await send_problem(send, receive, scope, 504, _BODY, [], close=close)
