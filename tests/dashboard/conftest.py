"""Dashboard tests: the runtime tests' real uvicorn server, and headless Chromium."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard.browser import MISSING, chrome
from tests.runtime import stalling_app
from tests.runtime.conftest import client, serve

__all__ = ["browser", "client", "serve"]  # the runtime tests' fixtures, shared, not copied

TOKEN = "test-token-7f3a9c"


def build(**options: Any) -> tuple[Any, Any]:
    """The runtime tests' stalling app, with the dashboard on."""
    options.setdefault("dashboard_token", TOKEN)
    return stalling_app.build(threshold_ms=50, prometheus=False, dashboard=True, **options)


def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    if MISSING:
        if os.environ.get("CI"):  # CI installs chromium: a skip there would hide a broken setup
            pytest.fail(MISSING)
        pytest.skip(MISSING)
    driver = chrome(tmp_path / "profile")
    try:
        yield driver
    finally:
        driver.quit()
