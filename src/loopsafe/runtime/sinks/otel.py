"""OpenTelemetry: each stall becomes a `loopsafe.stall` event on the span of the request it hit.

The span is found where it can be: captured when the request enters loopsafe's middleware (when
the OpenTelemetry middleware wraps ours), or read from the stalled task's context (Python 3.12+,
when the instrumentation sits inside ours, as `FastAPIInstrumentor` puts it)."""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

from opentelemetry import trace
from opentelemetry.context import _RUNTIME_CONTEXT

from loopsafe.runtime.watchdog import StallEvent


def _context_var() -> contextvars.ContextVar[Any] | None:
    var = getattr(_RUNTIME_CONTEXT, "_current_context", None)
    return var if isinstance(var, contextvars.ContextVar) else None


def current_span() -> Any:
    """The span current in this task (called by the middleware as a request starts)."""
    span = trace.get_current_span()
    return span if span.get_span_context().is_valid else None


def span_of(task: asyncio.Task[Any] | None) -> Any:
    """The span current in another task, read from its context (3.12+), or None."""
    get_context = getattr(task, "get_context", None)
    var = _context_var()
    if get_context is None or var is None:
        return None
    otel_context = get_context().get(var)
    if otel_context is None:
        return None
    span = trace.get_current_span(otel_context)
    return span if span.get_span_context().is_valid else None


class OTelSink:
    """Adds the stall event to the request's span (span.add_event is thread-safe)."""

    def on_stall(self, event: StallEvent) -> None:
        span = event.span
        if span is None:
            return
        attributes: dict[str, Any] = {"loopsafe.duration_s": event.duration_s}
        for name, frame in (("culprit", event.culprit), ("user_frame", event.user_frame)):
            if frame is not None:
                attributes[f"loopsafe.{name}"] = f"{frame.path}:{frame.line}"
                attributes[f"loopsafe.{name}.function"] = frame.function
        if event.route:
            attributes["http.route"] = event.route
        span.add_event("loopsafe.stall", attributes=attributes)
