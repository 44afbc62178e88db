"""`--fix` and `--diff`: safe edits that keep comments, add imports, and never half-write."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from loopsafe.check import fix, run
from loopsafe.config import Settings

APP = '''"""An app."""
from __future__ import annotations

import time
from asyncio import create_task

from fastapi import FastAPI, UploadFile

app = FastAPI()


async def audit(x: int) -> None: ...


@app.post("/u")
async def upload(file: UploadFile):
    time.sleep(1)  # pause a bit
    data = file.file.read()
    text = file.file.read().decode()
    create_task(audit(1))
    return data, text
'''


def cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "loopsafe", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_diff_changes_nothing(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(APP)
    proc = cli(["check", "--diff", "app.py"], tmp_path)
    assert proc.returncode == 1
    assert "+    await asyncio.sleep(1)  # pause a bit" in proc.stdout
    assert "+    data = await file.read()" in proc.stdout
    assert "+_background_tasks: set[object] = set()" in proc.stdout
    assert "Would fix 3 problems." in proc.stderr
    assert (tmp_path / "app.py").read_text() == APP


def test_fix_applies_safe_edits_and_reports_the_rest(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(APP)
    proc = cli(["check", "--fix", "app.py"], tmp_path)
    fixed = (tmp_path / "app.py").read_text()
    ast.parse(fixed)
    assert "import asyncio\nimport time\n" in fixed
    assert "    await asyncio.sleep(1)  # pause a bit\n" in fixed
    assert "    data = await file.read()\n" in fixed
    assert "    text = file.file.read().decode()\n" in fixed  # unsafe for `await`: left alone
    assert "    _task = create_task(audit(1))\n    _background_tasks.add(_task)\n" in fixed
    assert "Fixed 3 problems." in proc.stderr
    assert proc.returncode == 1
    assert [
        line.split(": ")[1].split()[0] for line in proc.stdout.splitlines() if ": LS" in line
    ] == ["LS501"]
    again = cli(["check", "--fix", "app.py"], tmp_path)
    assert (tmp_path / "app.py").read_text() == fixed
    assert "Fixed" not in again.stderr


def test_a_file_changed_since_the_check_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "app.py"
    path.write_text(APP)
    monkeypatch.chdir(tmp_path)
    report = run(["app.py"], Settings(root=tmp_path), use_cache=False)
    path.write_text(APP + "\n# edited meanwhile\n")
    outcome = fix.apply(report.findings, report.digests, write=True)
    assert outcome.fixed == 0
    assert outcome.skipped == ["app.py: changed on disk since it was checked; not fixed"]
    assert path.read_text().endswith("# edited meanwhile\n")
