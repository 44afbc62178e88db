"""`loopsafe doctor` on the two examples: the twin's blocking routes confirmed on their culprit
lines, the service clean. A few routes of each, to keep it short; `make demo` runs them all."""

from __future__ import annotations

import importlib.util
import json
import os
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from loopsafe.cli import main

ROOT = Path(__file__).parent.parent.parent
TWIN = ROOT / "examples" / "antipatterns"


def demo() -> ModuleType:
    spec = importlib.util.spec_from_file_location("loopsafe_demo", ROOT / "examples" / "demo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_doctor(
    app_dir: Path, samples: Path, out: Path, env: dict[str, str], *args: str
) -> tuple[int, dict[str, Any]]:
    old = dict(os.environ)
    os.environ.update(env)
    try:
        code = main(
            ["doctor", str(app_dir), "--app", "app.main:app", "--samples", str(samples),
             "--json-file", str(out), "--start-timeout", "90", "--timeout", "20", *args]
        )  # fmt: skip
    finally:
        os.environ.clear()
        os.environ.update(old)
    return code, json.loads(out.read_text())


def test_twin_blocking_routes_are_confirmed(
    upstream: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    helpers = demo()
    plan = tomllib.loads((TWIN / "routes.toml").read_text())
    chosen = {"GET /products/{sku}/offers", "GET /orders/shipping-quote", "POST /users/login"}
    plan["route"] = [r for r in plan["route"] if r["route"] in chosen]
    samples = tmp_path / "samples.toml"
    helpers.write_samples(samples, helpers.twin_samples(tmp_path, plan), {})
    env = {
        k: v.replace("{upstream}", upstream).replace("{var}", str(tmp_path / "var"))
        for k, v in plan["server"]["env"].items()
    }
    routes = [arg for r in sorted(chosen) for arg in ("--route", r)]
    code, data = run_doctor(TWIN, samples, tmp_path / "twin.json", env, "-n", "8", *routes)
    capsys.readouterr()
    assert code == 1
    assert helpers.judge_twin(data, plan) == []  # confirmed on a culprit line; manifest exact
    confirmed = {
        (os.path.relpath(f["path"], TWIN), f["line"])
        for f in data["findings"]
        if f["runtime"]["status"] == "confirmed"
    }
    for entry in plan["route"]:
        assert set(entry["mistakes"]) & {f"{p}:{line}" for p, line in confirmed}, entry["route"]


def test_service_is_clean(
    upstream: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    helpers = demo()
    samples = tmp_path / "samples.toml"
    helpers.write_samples(
        samples,
        {"GET /products/{sku}/offers": {"path": {"sku": "KB-101"}}},
        {"Authorization": f"Bearer {helpers.token('dev-only-secret')}"},
    )
    env = {"UPSTREAM_URL": upstream, "VAR_DIR": str(tmp_path / "var")}
    code, data = run_doctor(
        ROOT / "examples" / "service", samples, tmp_path / "service.json", env,
        "--route", "GET /products/{sku}/offers", "--route", "GET /users/me",
        "--route", "GET /orders", "--max-factor", "1.3",
    )  # fmt: skip
    capsys.readouterr()
    assert data["findings"] == [] and data["runtime_only"] == []
    routes = {r["route"]: r for r in data["probe"]["routes"]}
    assert routes["GET /users/me"]["http_status"] == 200  # the token was accepted
    assert all(r["verdict"] == "ok" for r in routes.values())
    assert code == 0
