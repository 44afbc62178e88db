"""pytest plugin: fail a test that blocks the event loop. Inert unless enabled.

Enable with ``--loopsafe``, the ``loopsafe = true`` ini option, ``LOOPSAFE=1``, or per test with
``@pytest.mark.loopsafe(threshold_ms=...)``; precedence is marker > command line > environment >
ini. Imports only pytest and the standard library until a test is checked.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import pytest

ENABLE_HELP = "fail tests that block the event loop longer than the threshold (loopsafe)"
THRESHOLD_HELP = "the longest an event-loop callback may run, in ms (loopsafe; default 50)"
DEFAULT_THRESHOLD_MS = 50.0


@dataclass(frozen=True, slots=True)
class _Settings:
    enabled: bool
    threshold_ms: float


_SETTINGS = pytest.StashKey[_Settings]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("loopsafe")
    group.addoption("--loopsafe", action="store_true", default=None, help=ENABLE_HELP)
    group.addoption("--loopsafe-threshold-ms", type=float, default=None, help=THRESHOLD_HELP)
    parser.addini("loopsafe", ENABLE_HELP, type="bool", default=False)
    parser.addini("loopsafe_threshold_ms", THRESHOLD_HELP, default=str(DEFAULT_THRESHOLD_MS))


def _threshold(value: Any, source: str) -> float:
    try:
        threshold = float(value)
    except (TypeError, ValueError):
        raise pytest.UsageError(
            f"loopsafe: threshold must be a number of ms, got {value!r} ({source})"
        ) from None
    if threshold <= 0:
        raise pytest.UsageError(f"loopsafe: threshold must be positive, got {threshold} ({source})")
    return threshold


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "loopsafe(threshold_ms=50, enabled=True): fail the test if it blocks the event loop",
    )
    enabled: bool = bool(config.getini("loopsafe"))
    env = os.environ.get("LOOPSAFE")
    if env is not None:
        enabled = env.strip().lower() not in ("", "0", "false", "no", "off")
    if config.getoption("loopsafe"):
        enabled = True
    threshold = _threshold(config.getini("loopsafe_threshold_ms"), "ini loopsafe_threshold_ms")
    if "LOOPSAFE_THRESHOLD_MS" in os.environ:
        threshold = _threshold(os.environ["LOOPSAFE_THRESHOLD_MS"], "env LOOPSAFE_THRESHOLD_MS")
    cli = config.getoption("loopsafe_threshold_ms")
    if cli is not None:
        threshold = _threshold(cli, "--loopsafe-threshold-ms")
    config.stash[_SETTINGS] = _Settings(enabled, threshold)


def pytest_report_header(config: pytest.Config) -> str | None:
    settings = config.stash.get(_SETTINGS, None)
    if settings is None or not settings.enabled:
        return None
    return f"loopsafe: threshold={settings.threshold_ms:g}ms"


def _for_item(item: pytest.Item) -> _Settings:
    settings = item.config.stash[_SETTINGS]
    marker = item.get_closest_marker("loopsafe")
    if marker is None:
        return settings
    enabled = bool(marker.kwargs.get("enabled", True))
    threshold = settings.threshold_ms
    if "threshold_ms" in marker.kwargs:
        threshold = _threshold(
            marker.kwargs["threshold_ms"], f"@pytest.mark.loopsafe on {item.nodeid}"
        )
    return _Settings(enabled, threshold)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, None]:
    settings = _for_item(item)
    if not settings.enabled:
        yield
        return
    from loopsafe.testing import BlockDetector

    with BlockDetector(settings.threshold_ms / 1000) as detector:
        outcome = yield
    if detector.stalls and outcome.excinfo is None:
        outcome.force_exception(pytest.fail.Exception(detector.report(item.nodeid), pytrace=False))
