"""loopsafe's runtime monitor (the ``runtime`` extra): stalls, lag, thread pool, per-route figures."""

from __future__ import annotations

from loopsafe.runtime.install import install
from loopsafe.runtime.middleware import LoopSafeMiddleware
from loopsafe.runtime.monitor import Monitor
from loopsafe.runtime.watchdog import StallEvent

__all__ = ["LoopSafeMiddleware", "Monitor", "StallEvent", "install"]
