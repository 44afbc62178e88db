"""loopsafe: keep the event loop of FastAPI and other ASGI apps unblocked, and prove it.

`loopsafe check` finds code that blocks the event loop; `loopsafe.install(app)` watches a running
app for stalls. Importing the package pulls in no third-party module: the runtime names below
are loaded on first use (PEP 562) and need the ``runtime`` extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = (
    "BoundedTaskGroup",
    "Bulkhead",
    "BulkheadFull",
    "CpuPool",
    "Deadline",
    "LoopSafeMiddleware",
    "Monitor",
    "StallEvent",
    "TaskTracker",
    "__version__",
    "bounded_gather",
    "configure_threadpool",
    "disconnect_aware",
    "install",
    "run_blocking",
)

if TYPE_CHECKING:
    from loopsafe.runtime import LoopSafeMiddleware, Monitor, StallEvent, install
    from loopsafe.shed import (
        BoundedTaskGroup,
        Bulkhead,
        BulkheadFull,
        CpuPool,
        Deadline,
        TaskTracker,
        bounded_gather,
        configure_threadpool,
        disconnect_aware,
        run_blocking,
    )

_RUNTIME = frozenset({"LoopSafeMiddleware", "Monitor", "StallEvent", "install"})
_SHED = frozenset(
    {
        "BoundedTaskGroup",
        "Bulkhead",
        "BulkheadFull",
        "CpuPool",
        "Deadline",
        "TaskTracker",
        "bounded_gather",
        "configure_threadpool",
        "disconnect_aware",
        "run_blocking",
    }
)


def __getattr__(name: str) -> Any:
    if name in _RUNTIME:
        import loopsafe.runtime

        return getattr(loopsafe.runtime, name)
    if name in _SHED:
        import loopsafe.shed

        return getattr(loopsafe.shed, name)
    raise AttributeError(f"module 'loopsafe' has no attribute {name!r}")
