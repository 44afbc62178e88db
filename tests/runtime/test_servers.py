"""The monitor under other loops and servers: uvloop, hypercorn, gunicorn with uvicorn workers."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from tests.runtime import stalling_app
from tests.runtime.conftest import culprit_line
from tests.runtime.test_monitor import wait_for_stalls

ROOT = Path(__file__).parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_uvloop(client: httpx.Client) -> None:
    import uvicorn

    app, monitor = stalling_app.build(threshold_ms=50, prometheus=False)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, loop="uvloop", log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        before = len(wait_for_stalls(monitor, 1))
        client.get(f"http://127.0.0.1:{port}/sleep/120")
        stall = wait_for_stalls(monitor, before + 1)[-1]
        assert stall["route"] == "GET /sleep/{ms}"
        assert stall["user_frame"]["line"] == culprit_line("stalling_app.py", "sleep")
        assert "uvloop" in type(monitor._heartbeat.loop).__module__
        assert not monitor._heartbeat.on_iterations  # uvloop has no Python selector: the timer
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert not monitor.running


def test_hypercorn(client: httpx.Client) -> None:
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    app, monitor = stalling_app.build(threshold_ms=50, prometheus=False)
    port = free_port()
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    stop = threading.Event()

    async def main() -> None:
        async def shutdown() -> None:
            while not stop.is_set():
                await asyncio.sleep(0.02)

        await serve(app, config, shutdown_trigger=shutdown)  # type: ignore[arg-type]

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                client.get(f"http://127.0.0.1:{port}/clean")
                break
            except httpx.TransportError:
                time.sleep(0.05)
        before = len(wait_for_stalls(monitor, 1))
        client.get(f"http://127.0.0.1:{port}/cpu")
        stall = wait_for_stalls(monitor, before + 1)[-1]
        assert stall["route"] == "GET /cpu"
        assert stall["user_frame"]["line"] == culprit_line("stalling_app.py", "cpu")
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not monitor.running


GUNICORN_APP = """
import time
from fastapi import FastAPI
from prometheus_client import CollectorRegistry, generate_latest, multiprocess
from starlette.responses import Response
import loopsafe

app = FastAPI()
loopsafe.install(app, threshold_ms=50)

@app.get("/block")
async def block():
    time.sleep(0.1)
    return {"pid": __import__("os").getpid()}

@app.get("/metrics")
def metrics():
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return Response(generate_latest(registry), media_type="text/plain")
"""


def test_gunicorn_workers_aggregate_metrics(tmp_path: Path, client: httpx.Client) -> None:
    (tmp_path / "gapp.py").write_text(GUNICORN_APP)
    metrics_dir = tmp_path / "prom"
    metrics_dir.mkdir()
    port = free_port()
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "PYTHONPATH": str(ROOT / "src"),
    }
    errlog = (tmp_path / "gunicorn.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-k", "uvicorn.workers.UvicornWorker", "-w", "2",
         "-b", f"127.0.0.1:{port}", "--chdir", str(tmp_path), "gapp:app"],
        env=env, stdout=subprocess.DEVNULL, stderr=errlog,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                client.get(f"http://127.0.0.1:{port}/metrics")
                break
            except httpx.TransportError:
                time.sleep(0.1)
        pids = set()
        for _ in range(12):
            with httpx.Client(timeout=10) as fresh:  # new connections spread over the workers
                pids.add(fresh.get(f"http://127.0.0.1:{port}/block").json()["pid"])
        # Each worker's watchdog reports in its own time: wait for the twelfth (at most 5 s).
        deadline = time.monotonic() + 5
        while True:
            text = client.get(f"http://127.0.0.1:{port}/metrics").text
            total = sum(
                float(line.rsplit(" ", 1)[1])
                for line in text.splitlines()
                if line.startswith("loopsafe_loop_stalls_total{")
            )
            if total >= 12 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert total == 12, text + (tmp_path / "gunicorn.log").read_text()
        assert len(pids) == 2, "both workers should have served: the test proves the aggregation"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        errlog.close()
