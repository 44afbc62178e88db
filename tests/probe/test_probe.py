"""`loopsafe probe` against a real app under uvicorn on 127.0.0.1 (tests/probe/probe_app.py)."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from loopsafe.cli import main

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
APP = "tests.probe.probe_app:app"
REQUIRED_KEYS = {"route", "status", "single_s", "concurrent_s", "serialization_factor", "stalls"}


def culprit_line(tag: str, file: str = "probe_app.py") -> int:
    for number, line in enumerate((HERE / file).read_text().splitlines(), 1):
        if line.rstrip().endswith(f"# culprit: {tag}"):
            return number
    raise LookupError(tag)


def runner_processes() -> list[int]:
    """Probed servers still alive (there must be none once a probe has returned)."""
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"loopsafe.probe.runner" in cmdline:
                found.append(int(pid))
    return found


def probe_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["probe", *args, "--json", "--app-dir", str(ROOT)])
    out = capsys.readouterr().out
    return code, json.loads(out)


def by_route(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["route"]: r for r in data["routes"]}


def test_probe_finds_blocking_serializing_and_hanging_routes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, data = probe_json(capsys, APP, "--timeout", "2.5", "--exclude", "GET /sync")
    assert code == 1
    assert data["schema_version"] == 1 and data["n"] == 16
    routes = by_route(data)
    for entry in data["routes"]:
        assert REQUIRED_KEYS <= set(entry)
    # FastAPI's own docs pages are not the app's routes.
    assert "GET /docs" not in routes and "GET /openapi.json" not in routes

    blocking = routes["GET /blocking"]
    assert blocking["verdict"] == "blocks"
    assert blocking["serialization_factor"] > 1.5
    top = blocking["stalls"][0]
    assert top["user_frame"]["path"].endswith("tests/probe/probe_app.py")
    assert top["user_frame"]["line"] == culprit_line("blocking")
    assert top["culprit"]["function"] == "blocking"  # time.sleep is C: the route's own frame

    # A lock serializes the requests without blocking the loop: no stall to blame.
    assert routes["GET /locked"]["verdict"] == "serializes"
    assert routes["GET /locked"]["stalls"] == []

    # The clean route may be slow on a busy machine, but no stall may be pinned on its code.
    for group in routes["GET /clean"]["stalls"]:
        assert not (group["user_frame"] or {}).get("path", "").endswith("probe_app.py")

    # Path and required query parameters are filled from the OpenAPI schema.
    item = routes["GET /items/{item_id}"]
    assert item["http_status"] == 200 and item["request"].startswith("GET /items/1?q=")

    hang = routes["GET /hang"]
    assert hang["verdict"] == "hangs" and hang["status"] == "timeout"
    assert "stayed free" in hang["reason"]

    # The loop is frozen: the culprit comes from the control thread, the server is restarted,
    # and the routes after it are still measured.
    freeze = routes["GET /freeze"]
    assert freeze["verdict"] == "hangs"
    assert freeze["stalls"][0]["user_frame"]["line"] == culprit_line("freeze")
    assert "server restarted" in freeze["reason"]
    assert routes["GET /after-freeze"]["verdict"] is not None
    # The lag series spans both servers: the one restarted and the new one.
    assert any(t < freeze["started_at"] for t, _ in data["lag"])
    assert any(t > freeze["ended_at"] for t, _ in data["lag"])

    assert routes["GET /v1/nested/leaf/{leaf_id}"]["http_status"] == 200  # included routers
    assert routes["POST /items"]["verdict"] is None
    assert "--unsafe" in routes["POST /items"]["reason"]
    assert "WebSocket" in routes["WEBSOCKET /ws"]["reason"]
    assert runner_processes() == []


def test_unsafe_builds_a_json_body_from_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    code, data = probe_json(capsys, APP, "--unsafe", "--route", "POST /items", "-n", "4")
    routes = by_route(data)
    assert list(routes) == ["POST /items"]
    assert routes["POST /items"]["http_status"] == 200
    assert routes["POST /items"]["verdict"] in ("ok", "serializes")
    assert code in (0, 1)


def test_samples_fill_parameters_and_exclude_routes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    samples = tmp_path / "samples.toml"
    samples.write_text(
        '[tool.loopsafe.probe]\nexclude = ["GET /blocking"]\n'
        '[tool.loopsafe.probe.routes."GET /items/{item_id}"]\n'
        'path = { item_id = 7 }\nquery = { q = "shoes", limit = 3 }\n'
    )
    _, data = probe_json(
        capsys,
        APP,
        "--samples",
        str(samples),
        "--route",
        "GET /items/*",
        "--route",
        "GET /blocking",
        "-n",
        "4",
    )
    routes = by_route(data)
    assert routes["GET /items/{item_id}"]["request"] == "GET /items/7?q=shoes&limit=3"
    assert routes["GET /blocking"]["verdict"] is None
    assert "excluded" in routes["GET /blocking"]["reason"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["tests.probe.no_such_module:app"], "no module named 'tests.probe.no_such_module'"),
        (["tests.probe.import_fails:app"], "KeyError: 'DATABASE_URL' at"),
        (["tests.probe.bad_apps:missing"], "has no attribute 'missing'"),
        (["tests.probe.bad_apps:not_an_app"], "is not an ASGI app"),
        (["tests.probe.bad_apps:startup_fails"], "database unreachable at startup"),
        (["--url", "http://example.com:8000"], "not a server on this machine"),
        ([APP, "--url", "http://127.0.0.1:1"], "not both"),
        ([APP, "-n", "0"], "-n must be between 1 and 256"),
        ([APP, "--samples", "/nonexistent.toml"], "does not exist (--samples)"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["probe", *args, "--app-dir", str(ROOT)])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert err.count("\n") == 1 and err.startswith("loopsafe: error: ")
    assert "Traceback" not in err
    assert runner_processes() == []


def test_bad_samples_key_is_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    samples = tmp_path / "samples.toml"
    samples.write_text('[routes."GET /x"]\nbody = 1\n')
    code = main(["probe", APP, "--samples", str(samples), "--app-dir", str(ROOT)])
    err = capsys.readouterr().err
    assert code == 2 and "bad sample 'body'" in err and str(samples) in err


def test_port_in_use(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["probe", APP, "--port", str(port), "--app-dir", str(ROOT)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in err
    assert runner_processes() == []


def test_probe_a_running_server_by_url(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", APP, "--port", str(port), "--log-level", "warning"],
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "uvicorn did not start"
                time.sleep(0.1)
        code = main(
            [
                "probe",
                "--url",
                f"http://127.0.0.1:{port}",
                "--json",
                "--route",
                "GET /blocking",
                "--route",
                "GET /clean",
            ]
        )
        data = json.loads(capsys.readouterr().out)
    finally:
        server.terminate()
        server.wait(10)
    routes = by_route(data)
    # Without loopsafe's dashboard the stalls are unknown, but the serialization shows.
    assert routes["GET /blocking"]["stalls"] is None
    assert routes["GET /blocking"]["verdict"] == "serializes"
    assert any("stalls are not known" in note for note in data["notes"])
    assert code == 1


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium")
def test_html_report_renders_its_plots_in_chromium(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "report.html"
    main(
        [
            "probe",
            APP,
            "--route",
            "GET /blocking",
            "--route",
            "GET /clean",
            "-n",
            "8",
            "--html",
            str(report),
            "--app-dir",
            str(ROOT),
        ]
    )
    capsys.readouterr()
    page = report.read_text()
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")  # self-contained
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run(
            [
                "chromium",
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                f"--user-data-dir={profile}",
                "--dump-dom",
                report.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
    assert 'data-rendered="yes"' in dom

    def visible_marks(plot: str) -> int:
        tag = re.search(rf'<svg[^>]*id="{plot}"[^>]*>', dom)
        assert tag is not None
        count = re.search(r'data-marks-visible="(\d+)"', tag.group(0))
        assert count is not None
        return int(count.group(1))

    # The lag line and one stall mark at least; one bar per measured route.
    assert visible_marks("lag-plot") >= 2
    assert visible_marks("factor-plot") == 2
