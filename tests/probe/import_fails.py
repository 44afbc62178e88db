"""A module whose import raises, as an app with a broken setting does."""

from __future__ import annotations

SETTINGS: dict[str, str] = {}
DATABASE_URL = SETTINGS["DATABASE_URL"]
