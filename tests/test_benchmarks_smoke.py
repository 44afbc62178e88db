"""The benchmarks are not run by the suite (they take minutes and want a quiet machine), but
they must not rot: each script starts, and the pieces that build on loopsafe's internals run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parent.parent / "benchmarks"


@pytest.mark.parametrize("script", sorted(p.name for p in BENCH.glob("*.py")))
def test_script_starts(script: str) -> None:
    done = subprocess.run(
        [sys.executable, script, "--help"], cwd=BENCH, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage:" in done.stdout


def test_dashboard_cost_fills_a_monitor() -> None:
    code = (
        "import json, dashboard_cost\n"
        "snapshot = dashboard_cost.full_monitor().snapshot()\n"
        "print(len(snapshot['stalls']), len(snapshot['routes']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=BENCH, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["500", "100"]
