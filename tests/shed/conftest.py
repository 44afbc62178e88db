"""Fixtures of the shed tests: the uvicorn server fixtures are shared (tests/server.py)."""

from __future__ import annotations

from tests.server import client, serve

__all__ = ["client", "serve"]
