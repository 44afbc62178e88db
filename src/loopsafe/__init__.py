"""loopsafe: keep the event loop of FastAPI and other ASGI apps unblocked, and prove it.

`loopsafe check` finds code that blocks the event loop; `loopsafe.install(app)` watches a running
app for stalls. Importing the package pulls in no third-party module: the runtime names below
are loaded on first use (PEP 562) and need the ``runtime`` extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ("LoopSafeMiddleware", "Monitor", "StallEvent", "__version__", "install")

if TYPE_CHECKING:
    from loopsafe.runtime import LoopSafeMiddleware, Monitor, StallEvent, install

_RUNTIME = frozenset({"LoopSafeMiddleware", "Monitor", "StallEvent", "install"})


def __getattr__(name: str) -> Any:
    if name in _RUNTIME:
        import loopsafe.runtime

        return getattr(loopsafe.runtime, name)
    raise AttributeError(f"module 'loopsafe' has no attribute {name!r}")
