from __future__ import annotations

from tests.runtime.conftest import client, serve

__all__ = ["client", "serve"]
