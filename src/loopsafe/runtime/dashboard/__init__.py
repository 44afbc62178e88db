"""The live dashboard (``install(app, dashboard=True)``): see docs/dashboard.md."""

from __future__ import annotations

from loopsafe.runtime.dashboard.app import Dashboard

__all__ = ["Dashboard"]
