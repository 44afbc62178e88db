"""Rendered output of the LS102 chain fixture, as snapshots (UPDATE_SNAPSHOTS=1 rewrites them)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from loopsafe.check import run
from loopsafe.check.report import FORMATS
from loopsafe.config import Settings

from .helpers import FIXTURES

SNAPSHOTS = Path(__file__).parent / "snapshots"


@pytest.mark.parametrize(("fmt", "suffix"), [("text", "txt"), ("json", "json")])
def test_chain_rendering(fmt: str, suffix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    root = FIXTURES / "LS102_chain"
    monkeypatch.chdir(root)
    report = run(["."], Settings(root=root), use_cache=False)
    out = FORMATS[fmt](report)
    snapshot = SNAPSHOTS / f"LS102_chain.{suffix}"
    if os.environ.get("UPDATE_SNAPSHOTS"):
        snapshot.write_text(out)
    assert out == snapshot.read_text()
