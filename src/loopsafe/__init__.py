"""loopsafe: keep the event loop of FastAPI and other ASGI apps unblocked, and prove it.

`loopsafe check` finds code that blocks the event loop. The package is importable with no
third-party dependencies; the runtime parts live behind the ``runtime`` extra.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ("__version__",)
