"""examples/service against SQLite and a real PostgreSQL, and the upstream app's fast, slow and
failing profiles: it answers, degrades within its timeouts, streams, and shuts down cleanly."""

from __future__ import annotations

import asyncio
import io
import re
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.examples import _postgres
from tests.examples.conftest import EXAMPLES, AppServer, Process

SERVICE = EXAMPLES / "service"
TIMEOUT = 1.0  # HTTP_TIMEOUT of the test services: the deadline of every upstream call


def service_env(upstream: str, var: Path) -> dict[str, str]:
    return {
        "VAR_DIR": str(var),
        "UPSTREAM_URL": upstream,
        "PARTNER_URLS": f"{upstream}/ok,{upstream}/ms50,{upstream}/slow,{upstream}/fail",
        "SHIPPING_URL": f"{upstream}/slow",
        "HTTP_TIMEOUT": str(TIMEOUT),
        "BULKHEAD_SIZE": "3",
        "BULKHEAD_QUEUE": "1",
        "FANOUT_LIMIT": "3",  # a cart fans out within the warehouse bulkhead
        "SSE_INTERVAL": "0.05",
        "REPORT_WORKERS": "1",
    }


@pytest.fixture(scope="module")
def service_for(
    upstream: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Callable[[str], AppServer]]:
    servers: dict[str, AppServer] = {}

    def get(db: str) -> AppServer:
        if db not in servers:
            var = tmp_path_factory.mktemp(f"service-{db}")
            env = service_env(upstream, var)
            if db == "postgres":
                if _postgres.missing_reason():
                    pytest.skip(_postgres.missing_reason() or "")
                pg: _postgres.Postgres = request.getfixturevalue("postgres")
                pg.create_database("service")
                env["DATABASE_URL"] = pg.url("service", "asyncpg")
            servers[db] = AppServer(SERVICE, env, var / "service.log")
        return servers[db]

    yield get
    for server in servers.values():
        server.stop()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def service(request: pytest.FixtureRequest, service_for: Callable[[str], AppServer]) -> AppServer:
    return service_for(request.param)


def login(client: httpx.Client) -> dict[str, str]:
    creds = {"email": "demo@example.com", "password": "demo-password"}
    token = client.post("/users/login", json=creds).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def png(width: int, height: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def test_shop_flow(service: AppServer) -> None:
    with httpx.Client(base_url=service.url, timeout=30) as client:
        assert client.get("/readyz").json() == {"status": "ready"}
        auth = login(client)
        new = {"sku": "CAM-505", "name": "Webcam", "price_cents": 4900}
        assert client.post("/products", json=new, headers=auth).status_code == 201
        assert client.post("/products", json=new, headers=auth).status_code == 409
        skus = [p["sku"] for p in client.get("/products").json()]
        assert "KB-101" in skus and "CAM-505" in skus
        order = {"lines": [{"sku": "KB-101", "quantity": 2}, {"sku": "CAM-505"}]}
        placed = client.post("/orders", json=order, headers=auth)
        assert placed.status_code == 201 and placed.json()["total_cents"] == 2 * 8900 + 4900
        assert placed.json()["id"] in [o["id"] for o in client.get("/orders", headers=auth).json()]
        report = client.get("/reports/sales", headers=auth).json()  # built in the process pool
        assert report["orders"] >= 1 and report["revenue_cents"] >= 22700
        assert client.post("/reports/sales/export", headers=auth).status_code == 201
        assert client.get("/reports/sales/export", headers=auth).text.startswith("order_id,")
        thumb = client.post(
            "/uploads/avatar", files={"file": ("a.png", png(1200, 600))}, headers=auth
        )
        assert thumb.json()["width"] == 256 and thumb.json()["height"] == 128
        assert client.get("/uploads/avatar", headers=auth).content.startswith(b"\x89PNG")
        bad = client.post(
            "/uploads/avatar", files={"file": ("a.png", b"not an image")}, headers=auth
        )
        assert bad.status_code == 422
        doc = client.post("/uploads/documents", files={"file": ("n.txt", b"hello")}, headers=auth)
        assert (
            client.get(f"/uploads/documents/{doc.json()['name']}", headers=auth).content == b"hello"
        )
        assert client.get("/orders/vat", params={"gross_cents": 1200}).json()["vat_cents"] == 200


def test_partner_fan_out_degrades_within_the_timeout(
    service_for: Callable[[str], AppServer],
) -> None:
    service = service_for("sqlite")
    started = time.monotonic()
    body = httpx.get(f"{service.url}/products/KB-101/offers", timeout=30).json()
    elapsed = time.monotonic() - started
    # The slow partner would answer after 20 s; the call gives up at its timeout instead.
    assert elapsed < 10 * TIMEOUT
    sources = sorted(o["source"].rsplit("/", 1)[1] for o in body["offers"])
    assert sources == ["ms50", "ok"]
    errors = {url.rsplit("/", 1)[1]: why for url, why in body["errors"].items()}
    assert errors["slow"] == "timed out"
    assert "503" in errors["fail"]
    assert body["best"]["price_cents"] == min(o["price_cents"] for o in body["offers"])


def test_single_upstream_timeout_is_a_504(service_for: Callable[[str], AppServer]) -> None:
    service = service_for("sqlite")
    resp = httpx.get(f"{service.url}/orders/shipping-quote?postcode=1&weight_kg=2", timeout=30)
    assert resp.status_code == 504 and resp.json()["reason"] == "timed out"


def test_bulkhead_sheds_calls_to_a_slow_upstream(service_for: Callable[[str], AppServer]) -> None:
    service = service_for("sqlite")

    async def burst() -> list[dict]:
        async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:

            async def call(i: int) -> dict:
                # 50 ms apart: the fast partners are done before the next call comes, while
                # the slow one holds each slot for the whole timeout (1 s).
                await asyncio.sleep(i * 0.05)
                return (await client.get("/products/KB-101/offers")).json()  # type: ignore[no-any-return]

            return list(await asyncio.gather(*(call(i) for i in range(8))))

    answers = asyncio.run(burst())
    slow = [why for a in answers for url, why in a["errors"].items() if url.endswith("/slow")]
    # 3 slots and 1 queued for the slow partner: the others are refused at once, not queued.
    kinds = {"full" if why.endswith("/slow full") else why for why in slow}
    assert kinds == {"full", "timed out"}, slow
    assert all(len(a["offers"]) == 2 for a in answers), "fast partners are not held up"


def test_cart_availability_fans_out_bounded(service_for: Callable[[str], AppServer]) -> None:
    service = service_for("sqlite")
    skus = [f"SKU-{i}" for i in range(40)]
    levels = httpx.post(f"{service.url}/orders/cart/availability", json=skus, timeout=30).json()
    # All answered: unbounded, 40 calls at once would overflow the bulkhead (3 + 1 queued).
    assert list(levels) == skus and all(isinstance(v, int) for v in levels.values())


def sse_streams(service: AppServer) -> float:
    text = httpx.get(f"{service.url}/metrics", timeout=10).text
    return float(re.search(r"^shop_sse_streams (\S+)$", text, re.M).group(1))  # type: ignore[union-attr]


def test_sse_stream_stops_when_the_client_disconnects(service: AppServer) -> None:
    with httpx.Client(timeout=10) as client:
        with client.stream("GET", f"{service.url}/products/1/price/stream") as resp:
            events = []
            for line in resp.iter_lines():
                if line.startswith("data: "):
                    events.append(line)
                if len(events) == 2:
                    assert sse_streams(service) == 1, "the stream is open while we read"
                if len(events) == 3:
                    break  # closing httpx's byte iterator closes the connection: a disconnect
    assert events[0] == 'data: {"product_id": 1, "price_cents": 8900}'
    deadline = time.monotonic() + 10
    while sse_streams(service) != 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sse_streams(service) == 0, "the generator kept running after the client left"


def test_shedding_and_dashboard_are_on(service_for: Callable[[str], AppServer]) -> None:
    service = service_for("sqlite")
    # The dashboard answers this machine's clients; its snapshot shows the adaptive shedder.
    data = httpx.get(f"{service.url}/_loopsafe/api", timeout=10).json()
    assert data["shed"]["policy"] == "adaptive"
    assert data["shed"]["limit"] >= 1
    page = httpx.get(f"{service.url}/_loopsafe/", timeout=10)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    # Shedding counts the requests it let through (the dashboard's own are exempt).
    httpx.get(f"{service.url}/products", timeout=10).raise_for_status()
    again = httpx.get(f"{service.url}/_loopsafe/api", timeout=10).json()
    assert again["shed"]["accepted"] > data["shed"]["accepted"]


def test_no_stall_pinned_on_service_code(service_for: Callable[[str], AppServer]) -> None:
    """Whatever else the shared machine does, no stall may be caused by the service's own code."""
    app_dir = str(SERVICE / "app")
    for db in ("sqlite", "postgres"):
        if db == "postgres" and _postgres.missing_reason():
            continue
        snapshot = service_for(db).snapshot()
        assert snapshot["running"]
        pinned = [
            s for s in snapshot["stalls"]
            if s["route"] and s["user_frame"] and s["user_frame"]["path"].startswith(app_dir)
        ]  # fmt: skip
        assert not pinned, pinned


def children(pid: int) -> list[int]:
    """Live child processes of `pid` (from /proc: field 4 of stat is the parent pid)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_shutdown_drains_background_work_and_closes_everything(
    upstream: str, tmp_path: Path
) -> None:
    env = {**service_env(upstream, tmp_path), "WEBHOOK_URL": f"{upstream}/ms800/hooks/orders"}
    server = AppServer(SERVICE, env, tmp_path / "service.log")
    pool: list[int] = []
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            auth = login(client)
            order = {"lines": [{"sku": "MS-202"}]}
            assert client.post("/orders", json=order, headers=auth).status_code == 201
            assert client.get("/reports/sales", headers=auth).status_code == 200  # starts the pool
            pool = children(server.proc.pid)
            assert pool, "the report pool's worker process"
    finally:
        code = server.stop()
    log = server.output()
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in pool) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in pool if Path(f"/proc/{pid}").exists()], "pool processes left"
    # uvicorn re-raises the SIGTERM after a graceful shutdown; None would mean it was killed.
    assert code in (0, -signal.SIGTERM), log
    # The webhook (800 ms) was still running at SIGTERM: shutdown waited for it.
    assert "background tasks drained: 1 finished, 0 cancelled, 1 daemons stopped" in log
    assert "shutdown complete" in log


def test_gunicorn_two_workers_aggregate_metrics(upstream: str, tmp_path: Path) -> None:
    env = {
        **service_env(upstream, tmp_path),
        "SHIPPING_URL": f"{upstream}/ok",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom"),
        "RATES_REFRESH": "600",
    }
    args = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "-b", "127.0.0.1:{port}",
            "app.main:app"]  # fmt: skip
    server = Process(args, SERVICE, env, tmp_path / "gunicorn.log")
    try:
        server.wait_ready("/healthz", timeout=60)
        for _ in range(10):
            with httpx.Client(timeout=10) as fresh:  # new connections spread over the workers
                resp = fresh.get(f"{server.url}/orders/shipping-quote?postcode=1&weight_kg=1")
                assert resp.status_code == 200

        def total(text: str, name: str, **labels: str) -> float:
            want = [f'{k}="{v}"' for k, v in labels.items()]
            return sum(
                float(line.rsplit(" ", 1)[1])
                for line in text.splitlines()
                if line.startswith(name + "{") and all(w in line for w in want)
            )

        # Each worker fetches the rates once as it starts: 2 in the sum once both are up.
        deadline = time.monotonic() + 30
        while True:
            text = httpx.get(f"{server.url}/metrics", timeout=10).text
            rates = total(
                text, "shop_upstream_request_seconds_count", outcome="ok", upstream="rates"
            )
            if rates >= 2 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert rates == 2, "the sum covers both workers' files"
        shipping = total(
            text, "shop_upstream_request_seconds_count", outcome="ok", upstream="shipping"
        )
        assert shipping == 10
        assert "loopsafe_event_loop_lag_seconds" in text
    finally:
        code = server.stop()
    assert code == 0, server.output()  # gunicorn's master exits 0 after stopping its workers
