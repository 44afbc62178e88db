"""Fixtures of the runtime tests: the uvicorn server fixtures live in tests/server.py."""

from __future__ import annotations

from pathlib import Path

from tests.server import Server, client, serve

__all__ = ["Server", "client", "culprit_line", "serve"]

HERE = Path(__file__).parent


def culprit_line(file: str, tag: str) -> int:
    """The line marked `# culprit: <tag>` in a file beside this one."""
    for number, line in enumerate((HERE / file).read_text().splitlines(), 1):
        if line.rstrip().endswith(f"# culprit: {tag}"):
            return number
    raise LookupError(tag)
