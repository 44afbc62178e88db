"""`loopsafe doctor`: static findings confirmed (or not) by the stalls the probe saw."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from loopsafe.cli import main
from tests.probe.test_probe import culprit_line, runner_processes

HERE = Path(__file__).parent


def test_doctor_confirms_the_findings_the_probe_saw(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "doctor.html"
    code = main(
        [
            "doctor",
            str(HERE),
            "--html",
            str(report),
            "--app",
            "probe_app:app",
            "--json",
            "-n",
            "8",
            "--route",
            "GET /blocking",
            "--route",
            "GET /clean",
        ]
    )
    data = json.loads(capsys.readouterr().out)
    assert code == 1
    status = {(Path(f["path"]).name, f["line"]): f["runtime"]["status"] for f in data["findings"]}
    # Probed and blocking: confirmed, with the route it blocked.
    assert status[("probe_app.py", culprit_line("blocking"))] == "confirmed"
    confirmed = next(f for f in data["findings"] if f["runtime"]["status"] == "confirmed")
    assert confirmed["runtime"]["routes"] == ["GET /blocking"]
    # Not probed (left out by --route): the finding stands on the static analysis alone.
    assert status[("probe_app.py", culprit_line("freeze"))] == "static-only"
    assert data["runtime_only"] == []
    assert data["summary"]["confirmed"] == 1 and data["summary"]["static_only"] == 1
    page = report.read_text()
    line = culprit_line("blocking")
    where = os.path.relpath(HERE / "probe_app.py")  # the checker's paths are relative
    assert f'f-confirmed">confirmed</td><td><code>{where}:{line}:' in page
    assert runner_processes() == []


def test_doctor_lists_stalls_no_finding_explains(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The blocking call is hidden from the checker (a name it cannot resolve), not from the probe.
    (tmp_path / "hidden.py").write_text(
        "import importlib\n"
        "from fastapi import FastAPI\n\n"
        "app = FastAPI()\n"
        "nap = getattr(importlib.import_module('time'), 'sleep')\n\n\n"
        "@app.get('/nap')\n"
        "async def nap_route() -> dict[str, bool]:\n"
        "    nap(0.05)\n"
        "    return {'ok': True}\n"
    )
    code = main(["doctor", str(tmp_path), "--app", "hidden:app", "--json", "-n", "8"])
    data = json.loads(capsys.readouterr().out)
    assert code == 1
    assert data["findings"] == []
    (stall,) = data["runtime_only"]
    assert stall["route"] == "GET /nap"
    assert stall["user_frame"]["line"] == 10 and stall["user_frame"]["path"].endswith("hidden.py")


def test_doctor_needs_an_existing_path(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["doctor", "/no/such/dir", "--app", "x:app"])
    assert code == 2
    assert "does not exist (PATH)" in capsys.readouterr().err
