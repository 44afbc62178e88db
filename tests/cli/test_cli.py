"""The command line as a user meets it: exit codes, one-line errors, formats, selection."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from loopsafe.cli import main

BLOCKING = "import time\n\n\nasync def handler():\n    time.sleep(1)\n"


def run_cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "loopsafe", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    (tmp_path / "app.py").write_text(BLOCKING)
    return tmp_path


def test_findings_exit_1_and_text_format(project: Path) -> None:
    proc = run_cli(["check", "app.py"], project)
    assert proc.returncode == 1
    assert proc.stdout.startswith(
        "app.py:5:5: LS101 `time.sleep()` blocks the event loop in `async def app.handler`"
    )
    assert "help: " in proc.stdout
    assert "Found 1 problem in 1 file checked." in proc.stdout
    assert proc.stderr == ""


def test_clean_exit_0(tmp_path: Path) -> None:
    (tmp_path / "ok.py").write_text(
        "import asyncio\n\n\nasync def f():\n    await asyncio.sleep(1)\n"
    )
    proc = run_cli(["check", "."], tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "All checks passed!" in proc.stdout


def test_exit_zero(project: Path) -> None:
    assert run_cli(["check", "--exit-zero", "."], project).returncode == 0


def test_missing_path_is_one_line_exit_2(tmp_path: Path) -> None:
    proc = run_cli(["check", "nope/"], tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("loopsafe: error: path not found: nope/ (argument PATH)")


def test_syntax_error_is_a_finding_and_the_run_goes_on(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("def broken(:\n    pass\n")
    (tmp_path / "good.py").write_text(BLOCKING)
    proc = run_cli(["check", "."], tmp_path)
    assert proc.returncode == 1
    assert "bad.py:1:12: LS001 File could not be parsed: invalid syntax" in proc.stdout
    assert "good.py:5:5: LS101" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("[tool.loopsafe\n", "invalid TOML in"),
        (
            "[tool.loopsafe]\nselekt = ['LS1']\n",
            "unknown key 'selekt' (pyproject.toml [tool.loopsafe])",
        ),
        ("[tool.loopsafe]\nselect = 'LS1'\n", "'select' must be a list of strings"),
        ("[tool.loopsafe]\nselect = ['LS999']\n", "unknown rule code or prefix 'LS999'"),
        (
            "[[tool.loopsafe.blocking]]\nnames = ['x.y']\ncategory = 'nap'\nwhy = 'w'\ninstead = 'i'\n",
            "unknown category 'nap'",
        ),
    ],
)
def test_bad_config_is_one_line_exit_2(tmp_path: Path, config: str, message: str) -> None:
    (tmp_path / "pyproject.toml").write_text(config)
    (tmp_path / "app.py").write_text(BLOCKING)
    proc = run_cli(["check", "."], tmp_path)
    assert proc.returncode == 2, proc.stdout
    assert proc.stderr.startswith("loopsafe: error: ")
    assert message in proc.stderr
    assert proc.stderr.count("\n") == 1
    assert "Traceback" not in proc.stderr


def test_unknown_option_is_one_line_exit_2(tmp_path: Path) -> None:
    proc = run_cli(["check", "--frobnicate"], tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1
    assert "unrecognized arguments: --frobnicate" in proc.stderr


def test_json_format(project: Path) -> None:
    proc = run_cli(["check", "--format", "json", "."], project)
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    assert data["schema_version"] == 1
    (finding,) = data["findings"]
    assert set(finding) == {
        "code",
        "name",
        "message",
        "help",
        "path",
        "line",
        "column",
        "end_line",
        "end_column",
        "context",
        "chain",
        "fix",
    }
    assert finding["fix"] == {"kind": "await-asyncio-sleep", "applicability": "safe"}
    assert (finding["code"], finding["path"], finding["line"], finding["column"]) == (
        "LS101",
        "app.py",
        5,
        5,
    )
    assert (finding["end_line"], finding["end_column"]) == (5, 18)


def test_sarif_format(project: Path) -> None:
    proc = run_cli(["check", "--format", "sarif", "."], project)
    log = json.loads(proc.stdout)
    assert log["version"] == "2.1.0"
    run = log["runs"][0]
    assert {r["id"] for r in run["tool"]["driver"]["rules"]} >= {"LS101", "LS102"}
    (result,) = run["results"]
    region = result["locations"][0]["physicalLocation"]["region"]
    assert result["ruleId"] == "LS101" and region["startLine"] == 5


def test_github_format(project: Path) -> None:
    proc = run_cli(["check", "--format", "github", "."], project)
    assert proc.stdout.startswith(
        "::error file=app.py,line=5,col=5,endLine=5,endColumn=18,title=LS101 "
    )


def test_statistics(project: Path) -> None:
    proc = run_cli(["check", "--statistics", "."], project)
    assert proc.stdout.split() == ["1", "LS101", "blocking-call-in-async-function"]


def test_select_and_ignore(project: Path) -> None:
    assert run_cli(["check", "--ignore", "LS101", "."], project).returncode == 0
    assert run_cli(["check", "--select", "LS102", "."], project).returncode == 0
    assert run_cli(["check", "--select", "LS1", "."], project).returncode == 1


def test_noqa(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(
        BLOCKING.replace("time.sleep(1)", "time.sleep(1)  # noqa: LS101")
    )
    (tmp_path / "b.py").write_text(BLOCKING.replace("time.sleep(1)", "time.sleep(1)  # noqa"))
    (tmp_path / "c.py").write_text(
        BLOCKING.replace("time.sleep(1)", "time.sleep(1)  # noqa: LS102")
    )
    proc = run_cli(["check", "."], tmp_path)
    assert [line.split(":")[0] for line in proc.stdout.splitlines() if ": LS" in line] == ["c.py"]


def test_rules_and_rule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules"]) == 0
    out = capsys.readouterr().out
    assert "LS101" in out and "blocking-call-reached-from-async-function" in out
    assert main(["rule", "ls102"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# blocking-call-reached-from-async-function (LS102)")
    assert "## Why is this bad?" in out
    assert main(["rule", "LS999"]) == 2
    assert "unknown rule 'LS999'" in capsys.readouterr().err


def test_user_catalogue_extension(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[[tool.loopsafe.blocking]]\nnames = ['legacy.Client.call']\ncategory = 'sdk'\n"
        "why = 'legacy talks HTTP on the calling thread'\ninstead = '`await asyncio.to_thread(...)`'\n"
        "[tool.loopsafe]\nallow = ['time.sleep']\n"
    )
    (tmp_path / "app.py").write_text(
        "import time\nfrom legacy import Client\nclient = Client()\n\n\nasync def f():\n"
        "    time.sleep(1)\n    client.call()\n"
    )
    proc = run_cli(["check", "--format", "json", "."], tmp_path)
    findings = json.loads(proc.stdout)["findings"]
    assert [(f["line"], f["code"]) for f in findings] == [(8, "LS101")]
    assert "legacy talks HTTP on the calling thread" in findings[0]["help"]


def test_broken_pipe_is_quiet(project: Path) -> None:
    for i in range(200):
        (project / f"m{i}.py").write_text(BLOCKING)
    proc = subprocess.run(
        f"{sys.executable} -m loopsafe check . | head -1",
        shell=True,
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.stdout.count("\n") == 1
    assert "Traceback" not in proc.stderr and "Error" not in proc.stderr


def test_non_python_file_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "data.json").write_text("{}")
    proc = run_cli(["check", "data.json"], tmp_path)
    assert proc.returncode == 2
    assert proc.stderr == (
        "loopsafe: error: not a Python file: data.json (argument PATH): pass .py files or directories\n"
    )


def test_route_with_a_path_from_settings_is_labelled(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        "import time\nfrom fastapi import FastAPI\napp = FastAPI()\nLOGIN = '/login'\n\n\n"
        "@app.post(LOGIN)\nasync def login():\n    time.sleep(1)\n"
    )
    proc = run_cli(["check", "--format", "json", "."], tmp_path)
    assert json.loads(proc.stdout)["findings"][0]["context"] == "POST <LOGIN>"
