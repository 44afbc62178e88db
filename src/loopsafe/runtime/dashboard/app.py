"""The dashboard: a pure ASGI app in front of the monitored app, serving one live page.

Under ``path`` (default ``/_loopsafe``): ``/`` the page, ``/static/*`` its files, ``/api`` the
monitor's snapshot as JSON, ``/api/stalls/<id>`` one stall with its stack, ``/events`` the live
stream (Server-Sent Events). Everything else goes to the app untouched. Every answer needs the
token or an allowed address. Snapshots are built in a worker thread, never on the loop.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Iterable
from importlib import resources

from loopsafe._errors import ConfigError
from loopsafe.runtime._asgi import ASGIApp, Receive, Scope, Send
from loopsafe.runtime.dashboard.auth import COOKIE, Access, parse_allow
from loopsafe.runtime.dashboard.feed import Cursor, Feed
from loopsafe.runtime.monitor import Monitor

TOKEN_ENV = "LOOPSAFE_DASHBOARD_TOKEN"
DEFAULT_PATH = "/_loopsafe"
_TYPES = {
    "html": b"text/html; charset=utf-8",
    "js": b"text/javascript; charset=utf-8",
    "css": b"text/css; charset=utf-8",
    "svg": b"image/svg+xml",
}
_SECURITY = [
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
_CSP = (
    b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    b"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


@functools.cache
def assets() -> dict[str, bytes]:
    """The page's files, read from the package once (at install time, off the loop)."""
    folder = resources.files("loopsafe.runtime.dashboard") / "static"
    return {f.name: f.read_bytes() for f in folder.iterdir() if f.name.rsplit(".", 1)[-1] in _TYPES}


def check_path(path: str) -> str:
    """``/_loopsafe``: starts with a slash, no trailing one, not the root."""
    cleaned = path.rstrip("/")
    if not cleaned.startswith("/") or any(c in cleaned for c in "?#% "):
        raise ConfigError(
            f"dashboard_path must be a URL path like '/_loopsafe', got {path!r} (install())"
        )
    return cleaned


class Dashboard:
    """The live dashboard of ``monitor``, served in front of ``app``.

    ``install(app, dashboard=True, ...)`` sets it up for FastAPI and Starlette. For another ASGI
    app::

        inner = LoopSafeMiddleware(app)
        app = Dashboard(inner, inner.monitor, token="...")

    Args:
        app: the ASGI app that gets every request outside ``path``.
        monitor: the monitor whose figures are shown.
        token: the secret a client must present (``Authorization: Bearer <token>``,
            ``X-Loopsafe-Token: <token>`` or ``?token=<token>``); None reads
            ``LOOPSAFE_DASHBOARD_TOKEN``.
        path: where the dashboard lives (default ``/_loopsafe``).
        allow: client addresses or networks (``"127.0.0.1"``, ``"10.0.0.0/8"``) allowed in.
            With a token as well, a client needs both.
        interval: seconds between two live updates.
        stream_s: a stream ends after this long and the browser reconnects where it left off,
            so a server shutting down gracefully never waits longer on an open page.

    Raises:
        ConfigError: with neither a token nor an allow-list, or with a bad path or address.
    """

    def __init__(
        self,
        app: ASGIApp,
        monitor: Monitor,
        *,
        token: str | None = None,
        path: str = DEFAULT_PATH,
        allow: Iterable[str] | str | None = None,
        interval: float = 1.0,
        stream_s: float = 10.0,
    ) -> None:
        self.app = app
        self.monitor = monitor
        self.path = check_path(path)
        token = token if token is not None else os.environ.get(TOKEN_ENV)
        networks = parse_allow(allow)
        if not token and not networks:
            raise ConfigError(
                "dashboard=True needs a token or an allow-list (install()): pass "
                f"dashboard_token=... or set {TOKEN_ENV}, or dashboard_allow=('127.0.0.1',)"
            )
        self.access = Access(token or None, networks)
        self.interval = interval
        self.stream_s = stream_s
        self.feed = Feed(monitor)
        self.files = assets()
        self.streams = 0  # open live streams, for tests and curiosity

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        root = scope.get("root_path", "") or ""
        if root and path.startswith(root):
            path = path[len(root) :]
        if path != self.path and not path.startswith(self.path + "/"):
            await self.app(scope, receive, send)
            return
        if not self.monitor.running:
            self.monitor.start()  # a server without lifespan: start on the first request
        status = self.access.check(scope)
        if status == 401:
            await _respond(send, 401, b"401 Unauthorized: a token is needed\n", b"text/plain",
                           [(b"www-authenticate", b'Bearer realm="loopsafe"')])  # fmt: skip
            return
        if status != 200:
            await _respond(send, 403, b"403 Forbidden\n", b"text/plain")
            return
        if scope.get("method") != "GET":
            await _respond(send, 405, b"405 Method Not Allowed\n", b"text/plain",
                           [(b"allow", b"GET")])  # fmt: skip
            return
        await self._route(path[len(self.path) :], scope, receive, send)

    async def _route(self, sub: str, scope: Scope, receive: Receive, send: Send) -> None:
        loop = asyncio.get_running_loop()
        if sub == "":  # relative, so it works behind a proxy that strips a prefix
            query = scope.get("query_string", b"")
            location = (
                self.path.rsplit("/", 1)[-1].encode() + b"/" + (b"?" + query if query else b"")
            )
            await _respond(send, 308, b"", b"text/plain", [(b"location", location)])
        elif sub == "/":
            if self.access.token is not None and self.access.query_token(scope) is not None:
                await self._set_cookie(scope, send)
            else:
                await _respond(send, 200, self.files["index.html"], _TYPES["html"],
                               [(b"content-security-policy", _CSP)])  # fmt: skip
        elif sub.startswith("/static/") and sub[8:] in self.files:
            name = sub[8:]
            await _respond(send, 200, self.files[name], _TYPES[name.rsplit(".", 1)[-1]])
        elif sub == "/api":
            body = await loop.run_in_executor(None, self.feed.full)
            await _respond(send, 200, body, b"application/json")
        elif sub.startswith("/api/stalls/") and sub[12:].isdigit():
            found = await loop.run_in_executor(None, self.feed.stall, int(sub[12:]))
            if found is None:
                await _respond(send, 404, b'{"error":"no such stall"}', b"application/json")
            else:
                await _respond(send, 200, found, b"application/json")
        elif sub == "/events":
            await self._stream(scope, receive, send)
        else:
            await _respond(send, 404, b"404 Not Found\n", b"text/plain")

    async def _set_cookie(self, scope: Scope, send: Send) -> None:
        """The page was opened with ``?token=``: keep it in a cookie and drop it from the URL,
        so the live stream's requests (and the access log) carry no token."""
        cookie_path = (scope.get("root_path", "") or "") + self.path
        cookie = (
            f"{COOKIE}={self.access.cookie_value}; Path={cookie_path}; HttpOnly; SameSite=Strict"
        )
        if scope.get("scheme") == "https":
            cookie += "; Secure"
        await _respond(send, 303, b"", b"text/plain",
                       [(b"location", b"./"), (b"set-cookie", cookie.encode("latin-1"))])  # fmt: skip

    async def _stream(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Server-Sent Events: one message per interval until the client goes, or ``stream_s``
        passes (the browser then reconnects with Last-Event-ID and resumes)."""
        cursor = Cursor.parse(_header(scope, b"last-event-id"))
        loop = asyncio.get_running_loop()
        headers = [(b"content-type", b"text/event-stream"), (b"x-accel-buffering", b"no")]
        await send({"type": "http.response.start", "status": 200, "headers": headers + _SECURITY})
        gone = asyncio.ensure_future(_disconnected(receive))
        self.streams += 1
        try:
            await send(
                {"type": "http.response.body", "body": b"retry: 1000\n\n", "more_body": True}
            )
            deadline = loop.time() + self.stream_s
            while True:
                body, cursor = await loop.run_in_executor(None, self.feed.message, cursor)
                await send({"type": "http.response.body", "body": body, "more_body": True})
                wait = min(self.interval, deadline - loop.time())
                if wait <= 0:
                    break
                done, _ = await asyncio.wait({gone}, timeout=wait)
                if done:
                    return  # the browser went away: nothing more to send
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            return  # the client disconnected while we were sending (ASGI 2.4 servers raise this)
        finally:
            self.streams -= 1
            gone.cancel()


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key == name:
            return bytes(value).decode("latin-1")
    return None


async def _respond(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    headers += _SECURITY + (extra or [])
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
