"""``loopsafe.install(app)``: the one call that adds the monitor to a Starlette or FastAPI app."""

from __future__ import annotations

from typing import Any

from loopsafe._errors import ConfigError
from loopsafe.runtime.middleware import LoopSafeMiddleware
from loopsafe.runtime.monitor import Monitor


def install(app: Any, **options: Any) -> Monitor:
    """Add loopsafe's monitor to ``app`` (FastAPI or Starlette) and return the Monitor.

    Call it before the app starts serving. Installing twice returns the first monitor. For any
    other ASGI app, wrap it with ``LoopSafeMiddleware`` instead. Options are ``Monitor``'s, plus
    ``shed``: a shedding policy (``"static"``, ``"adaptive"``, ``"lag"``, a policy object or a
    list; default None, no shedding) for ``loopsafe.shed.ShedMiddleware``, installed right inside
    the monitor so that it decides before routing (see docs/shedding.md).
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
    shed = options.pop("shed", None)
    monitor = Monitor(**options)
    shedding: Any = None
    if shed is not None:
        from loopsafe.shed.middleware import ShedMiddleware

        # Built now so that a bad policy fails at install() time, not at the first request.
        shedding = ShedMiddleware(
            _later, shed, monitor=monitor, prometheus=options.get("prometheus")
        )
    build = app.build_middleware_stack

    def build_with_monitor() -> Any:
        # Outermost, whatever order middleware is added in: stalls in any middleware are
        # attributed to their request, and errors are seen after ServerErrorMiddleware.
        inner = build()
        if shedding is not None:
            shedding.app = inner  # right inside the monitor: rejects before any routing
            inner = shedding
        return LoopSafeMiddleware(inner, monitor=monitor)

    app.build_middleware_stack = build_with_monitor
    if state is not None:
        state.loopsafe = monitor
    return monitor


async def _later(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover
    raise RuntimeError("the shed middleware is used before the app's middleware stack is built")
