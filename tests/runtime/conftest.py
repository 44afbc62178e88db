"""Fixtures of the runtime tests: the uvicorn server fixtures live in tests/server.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from loopsafe.runtime.heartbeat import Heartbeat
from tests.server import Server, client, serve

__all__ = ["Server", "client", "culprit_line", "heartbeat_mode", "serve"]

HERE = Path(__file__).parent


def culprit_line(file: str, tag: str) -> int:
    """The line marked `# culprit: <tag>` in a file beside this one."""
    for number, line in enumerate((HERE / file).read_text().splitlines(), 1):
        if line.rstrip().endswith(f"# culprit: {tag}"):
            return number
    raise LookupError(tag)


@pytest.fixture(params=["iterations", "timer"])
def heartbeat_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with each heartbeat: on the selector's iterations (asyncio) and on a timer
    (what uvloop gets)."""
    monkeypatch.setattr(Heartbeat, "use_iterations", request.param == "iterations")
    return str(request.param)
