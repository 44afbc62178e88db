"""examples/antipatterns runs, and each blocking route in its routes.toml really blocks the loop.

The twin runs under uvicorn with loopsafe's monitor; after each request the monitor must hold a
stall for that route pinned on one of the route's culprit lines in the twin's own files.
"""

from __future__ import annotations

import io
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.examples import _postgres
from tests.examples.conftest import EXAMPLES, AppServer

TWIN = EXAMPLES / "antipatterns"
ROUTES = tomllib.loads((TWIN / "routes.toml").read_text())
MANIFEST = tomllib.loads((TWIN / "manifest.toml").read_text())["mistake"]


def twin_env(upstream: str, var: Path, pg: _postgres.Postgres | None) -> dict[str, str]:
    env = {k: v.format(upstream=upstream, var=var) for k, v in ROUTES["server"]["env"].items()}
    if pg is not None:
        env["LEGACY_PG_DSN"] = pg.dsn("legacy")
    return env


@pytest.fixture(scope="module")
def pg_or_none(request: pytest.FixtureRequest) -> _postgres.Postgres | None:
    if _postgres.missing_reason():
        return None
    pg: _postgres.Postgres = request.getfixturevalue("postgres")
    return pg


@pytest.fixture(scope="module")
def twin(
    upstream: str, pg_or_none: _postgres.Postgres | None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AppServer]:
    var = tmp_path_factory.mktemp("twin")
    if pg_or_none is not None:
        pg_or_none.create_database("legacy")
    server = AppServer(TWIN, twin_env(upstream, var, pg_or_none), var / "twin.log")
    yield server
    server.stop()


def wait_for_stall(server: AppServer, route: str, after: int, timeout: float = 10) -> list[dict]:
    """The stalls of `route` with an id above `after`, once there is at least one."""
    deadline = time.monotonic() + timeout
    while True:
        stalls = [s for s in server.snapshot()["stalls"] if s["id"] > after and s["route"] == route]
        if stalls or time.monotonic() > deadline:
            return stalls
        time.sleep(0.1)


def last_stall_id(server: AppServer) -> int:
    return max((s["id"] for s in server.snapshot()["stalls"]), default=0)


def where(frame: dict[str, Any] | None) -> str | None:
    if frame is None:
        return None
    path = Path(frame["path"])
    if not path.is_relative_to(TWIN):
        return str(path)
    return f"{path.relative_to(TWIN)}:{frame['line']}"


def send(client: httpx.Client, base: str, route: dict[str, Any]) -> httpx.Response:
    headers = {}
    if route.get("auth") == "bearer":
        login = next(r for r in ROUTES["route"] if r["path"] == "/users/login")
        token = client.post(base + login["path"], data=login["form"]).json()["access_token"]
        headers["Authorization"] = f"Bearer {token}"
    files = None
    if "upload" in route:
        up = route["upload"]
        files = {up["field"]: (up["filename"], noise_png(up["width"], up["height"]), "image/png")}
    return client.request(
        route["method"], base + route["path"], data=route.get("form"), files=files, headers=headers
    )


def noise_png(width: int, height: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.effect_noise((width, height), 64).convert("RGB").save(out, format="PNG")
    return out.getvalue()


def test_routes_toml_confirms_manifest_entries() -> None:
    planted = {f"{m['file']}:{m['line']}" for m in MANIFEST}
    for route in ROUTES["route"]:
        assert set(route["mistakes"]) <= planted, route["route"]
        assert route["route"].startswith(route["method"] + " ")


@pytest.mark.parametrize("route", ROUTES["route"], ids=lambda r: r["route"])
def test_blocking_route_stalls_on_its_culprit(
    twin: AppServer, route: dict[str, Any], pg_or_none: _postgres.Postgres | None
) -> None:
    if "LEGACY_PG_DSN" in route.get("needs", []) and pg_or_none is None:
        pytest.skip(_postgres.missing_reason() or "no PostgreSQL")
    before = last_stall_id(twin)
    with httpx.Client(timeout=30) as client:
        send(client, twin.url, route)
    stalls = wait_for_stall(twin, route["route"], before)
    assert stalls, f"no stall recorded for {route['route']}\n{twin.output()[-3000:]}"
    pinned = {where(s["user_frame"]) for s in stalls}
    assert pinned & set(route["culprits"]), (pinned, route["culprits"])


def test_twin_runs_on_postgresql(
    upstream: str, postgres: _postgres.Postgres, tmp_path: Path
) -> None:
    """DATABASE_URL switches the twin's sync SQLAlchemy engine to psycopg2 on PostgreSQL."""
    postgres.create_database("shop")
    env = {
        **twin_env(upstream, tmp_path, None),
        "DATABASE_URL": postgres.url("shop", "psycopg2"),
        "SALES_ROWS": "1000",
        "CATALOG_PRODUCTS": "100",
    }
    server = AppServer(TWIN, env, tmp_path / "twin.log")
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            found = client.get("/products/search", params={"q": "keyboard"}).json()
            assert [p["sku"] for p in found] == ["KB-101"]
            login = next(r for r in ROUTES["route"] if r["path"] == "/users/login")
            assert client.post(login["path"], data=login["form"]).status_code == 200
    finally:
        server.stop()
    assert "postgresql" in env["DATABASE_URL"]
