"""``loopsafe.install(app)``: the one call that adds the monitor to a Starlette or FastAPI app."""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any

from loopsafe._errors import ConfigError
from loopsafe.runtime.middleware import LoopSafeMiddleware
from loopsafe.runtime.monitor import Monitor

DEFAULT_EXEMPT: tuple[str, ...] = inspect.signature(Monitor).parameters["exempt"].default


def install(
    app: Any,
    *,
    shed: Any = None,
    dashboard: bool = False,
    dashboard_token: str | None = None,
    dashboard_path: str = "/_loopsafe",
    dashboard_allow: Iterable[str] | str | None = None,
    **options: Any,
) -> Monitor:
    """Add loopsafe's monitor to ``app`` (FastAPI or Starlette) and return the Monitor.

    Call it before the app starts serving. Installing twice returns the first monitor. For any
    other ASGI app, wrap it with ``LoopSafeMiddleware`` instead. Other options are ``Monitor``'s.

    Args:
        app: the FastAPI or Starlette app.
        shed: a load-shedding policy (``"static"``, ``"adaptive"``, ``"lag"``, ``"adaptive+lag"``,
            a policy object or a list; default None, no shedding) for
            ``loopsafe.shed.ShedMiddleware``, installed right inside the monitor so that it
            decides before routing (docs/shedding.md).
        dashboard: serve the live dashboard at ``dashboard_path`` (docs/dashboard.md).
        dashboard_token: the secret the dashboard asks for; None reads
            ``LOOPSAFE_DASHBOARD_TOKEN``.
        dashboard_path: where the dashboard lives; left out of route figures and never shed.
        dashboard_allow: client addresses or networks allowed to see the dashboard (with a
            token as well, a client needs both).
        **options: the ``Monitor``'s options.

    Raises:
        ConfigError: a bad option, or ``dashboard=True`` with neither a token nor an allow-list.
    """
    state = getattr(app, "state", None)
    existing = getattr(state, "loopsafe", None) if state is not None else None
    if isinstance(existing, Monitor):
        return existing
    if not hasattr(app, "build_middleware_stack"):
        raise ConfigError(
            f"install() needs a Starlette or FastAPI app, got {type(app).__name__} (install()): "
            "wrap other ASGI apps with loopsafe.LoopSafeMiddleware(app)"
        )
    if getattr(app, "middleware_stack", None) is not None:
        raise ConfigError("install() must be called before the app starts serving (install())")
    if dashboard:
        from loopsafe.runtime.dashboard.app import check_path

        dashboard_path = check_path(dashboard_path)
        exempt = tuple(options.get("exempt", DEFAULT_EXEMPT))
        if not dashboard_path.startswith(exempt):
            options["exempt"] = (*exempt, dashboard_path)
    monitor = Monitor(**options)
    shedding: Any = None
    if shed is not None:
        from loopsafe.shed.middleware import ShedMiddleware

        # Built now so that a bad policy fails at install() time, not at the first request.
        shedding = ShedMiddleware(
            _later, shed, monitor=monitor, prometheus=options.get("prometheus")
        )
    board = None
    if dashboard:
        from loopsafe.runtime.dashboard import Dashboard

        # Built now, so bad options fail here and its files are read off the loop; it gets
        # the monitored app when Starlette builds the middleware stack.
        board = Dashboard(
            app, monitor, token=dashboard_token, path=dashboard_path, allow=dashboard_allow
        )
    build = app.build_middleware_stack

    def build_with_monitor() -> Any:
        # Outermost, whatever order middleware is added in: stalls in any middleware are
        # attributed to their request, and errors are seen after ServerErrorMiddleware.
        inner = build()
        if shedding is not None:
            shedding.app = inner  # right inside the monitor: rejects before any routing
            inner = shedding
        monitored = LoopSafeMiddleware(inner, monitor=monitor)
        if board is None:
            return monitored
        # The dashboard goes in front of everything: its requests are neither counted nor shed.
        board.app = monitored
        return board

    app.build_middleware_stack = build_with_monitor
    if state is not None:
        state.loopsafe = monitor
    return monitor


async def _later(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover
    raise RuntimeError("the shed middleware is used before the app's middleware stack is built")
