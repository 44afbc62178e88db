"""The probed server, run in a child process by ``loopsafe probe``.

It imports the app, puts the monitor on it, and serves it with uvicorn on 127.0.0.1. A control
server in a thread answers the probe (snapshot, lag series, routes, where the loop is stuck), so
the probe can still ask where the loop is when the loop itself cannot answer. It reports readiness
or the reason it could not start as one JSON line on the file descriptor the probe passed.

Usage (internal): ``python -m loopsafe.probe.runner --app module:attr --ready-fd N [...]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import os
import socket
import sys
import threading
import time
import traceback
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from loopsafe.probe._protocol import EXIT_CANNOT_START, PING_PATH
from loopsafe.probe.appinfo import list_routes, openapi_of


class StartError(Exception):
    """The app could not be imported or started: ``kind`` is import, attribute, port or startup."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def load_app(target: str, app_dir: str) -> Any:
    """Import ``module:attr`` the way uvicorn does, with ``app_dir`` first on sys.path."""
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise StartError("import", f"'{target}' is not of the form module:attribute (--app)")
    sys.path.insert(0, app_dir)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise StartError(
                "import",
                f"no module named '{exc.name}' in {app_dir} (--app {target}): "
                "run from the project root or pass --app-dir",
            ) from None
        raise StartError("import", f"importing '{module_name}' failed: {_describe(exc)}") from None
    except BaseException as exc:  # the app's own import-time code failed: say where
        raise StartError("import", f"importing '{module_name}' failed: {_describe(exc)}") from None
    app: Any = module
    for part in attr.split("."):
        if not hasattr(app, part):
            raise StartError(
                "attribute", f"module '{module_name}' has no attribute '{attr}' (--app {target})"
            )
        app = getattr(app, part)
    if not callable(app):
        raise StartError("attribute", f"'{target}' is not an ASGI app (--app)")
    return app


def _describe(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


def attach_monitor(app: Any, threshold_ms: float) -> tuple[Any, Any]:
    """The app's own monitor when it installed one, else a fresh one: (asgi app, monitor)."""
    import loopsafe
    from loopsafe.runtime.monitor import Monitor

    options: dict[str, Any] = {"threshold_ms": threshold_ms, "log_stalls": False}
    options["prometheus"] = False
    existing = getattr(getattr(app, "state", None), "loopsafe", None)
    if isinstance(existing, Monitor):
        return app, existing
    if hasattr(app, "build_middleware_stack") and getattr(app, "middleware_stack", 1) is None:
        return app, loopsafe.install(app, **options)
    wrapped = loopsafe.LoopSafeMiddleware(app, **options)
    return wrapped, wrapped.monitor


class ProbeFront:
    """Outermost ASGI layer: answers the probe's ping before the app (the baseline of the fixed
    cost of a request), and keeps the reason a lifespan startup failed."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.startup_error: str | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == PING_PATH:
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def send_lifespan(message: Any) -> None:
            if message["type"] == "lifespan.startup.failed":
                lines = [ln for ln in str(message.get("message", "")).splitlines() if ln.strip()]
                self.startup_error = lines[-1].strip() if lines else "startup failed"
            await send(message)

        await self.app(scope, receive, send_lifespan)


class LagSeries:
    """A monitor sink: the largest heartbeat lag per 50 ms, as (unix time, lag seconds)."""

    BUCKET = 0.05

    def __init__(self) -> None:
        self.points: deque[tuple[float, float]] = deque(maxlen=20_000)

    def on_tick(self, monitor: Any) -> None:
        lags = monitor.new_lags
        if not lags:
            return
        offset = time.time() - time.monotonic()
        for tick, lag in lags:
            at = round((tick + offset) / self.BUCKET) * self.BUCKET
            if self.points and self.points[-1][0] == at:
                if lag > self.points[-1][1]:
                    self.points[-1] = (at, lag)
            else:
                self.points.append((at, lag))


def control_server(
    monitor: Any, series: LagSeries, info: dict[str, Any], loop_thread: int, loop_native_id: int
) -> ThreadingHTTPServer:
    """The probe's window into the server, served from a thread so a stuck loop cannot hide."""
    from loopsafe.runtime import stacks
    from loopsafe.runtime.schedstat import ThreadClock

    loop_clock = ThreadClock.open(loop_native_id)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/snapshot":
                data = monitor.snapshot()
                data["cpu_s"] = time.process_time()  # every thread of the server
                # How long the loop thread was runnable but given no CPU: a busy host's share.
                reading = loop_clock.read() if loop_clock is not None else None
                data["loop_wait_s"] = reading[1] if reading is not None else None
                data["stuck_s"] = stuck = monitor.stuck_for()
                stack = stacks.sample(loop_thread) if stuck > 0.5 else None
                data["loop_stack"] = [f.to_json() for f in stack] if stack else None
            elif self.path == "/series":
                data = {"points": list(series.points)}
            elif self.path == "/routes":
                data = info
            else:
                self.send_error(404)
                return
            body = json.dumps(data, default=str).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(
        target=server.serve_forever, name="loopsafe-probe-control", daemon=True
    ).start()
    return server


def bind(port: int) -> socket.socket:
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say so, and without it
    # Nagle's algorithm and delayed ACKs add 40 ms to every response with a body.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as exc:
        sock.close()
        raise StartError(
            "port",
            f"cannot listen on 127.0.0.1:{port} ({exc.strerror}) (--port): "
            "choose a free port or leave --port out to use any free one",
        ) from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve(args: argparse.Namespace, ready: Any) -> int:
    import uvicorn

    app = load_app(args.app, args.app_dir)
    app, monitor = attach_monitor(app, args.threshold_ms)
    series = LagSeries()
    monitor.sinks.append(series)
    info = {"routes": list_routes(app), **openapi_of(app)}
    front = ProbeFront(app)
    sock = bind(args.port)
    config = uvicorn.Config(
        front, lifespan="on", log_level="warning", access_log=False, loop="asyncio", http="h11"
    )
    server = uvicorn.Server(config)
    control = control_server(
        monitor, series, info, threading.get_ident(), threading.get_native_id()
    )

    async def announce() -> None:
        while not server.started:
            if server.should_exit:
                return
            await asyncio.sleep(0.02)
        message = {"port": sock.getsockname()[1], "control": control.server_address[1]}
        ready.write(json.dumps({"ready": message}) + "\n")
        ready.flush()

    async def main() -> None:
        watcher = asyncio.create_task(announce())
        try:
            await server.serve(sockets=[sock])
        finally:
            watcher.cancel()

    with contextlib.suppress(SystemExit):  # uvicorn exits when the lifespan startup fails
        asyncio.run(main())
    control.shutdown()
    if not server.started:
        raise StartError(
            "startup", f"the app failed to start: {front.startup_error or 'see its log above'}"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="loopsafe.probe.runner")
    parser.add_argument("--app", required=True)
    parser.add_argument("--app-dir", default=".")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--threshold-ms", type=float, default=20.0)
    parser.add_argument("--ready-fd", type=int, required=True)
    args = parser.parse_args(argv)
    ready = os.fdopen(args.ready_fd, "w")
    try:
        return serve(args, ready)
    except StartError as exc:
        ready.write(json.dumps({"error": exc.kind, "message": str(exc)}) + "\n")
        ready.flush()
        return EXIT_CANNOT_START


if __name__ == "__main__":
    sys.exit(main())
