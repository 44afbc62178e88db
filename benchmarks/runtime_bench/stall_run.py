"""One run of the stall scenarios against a real uvicorn server, monitored one way."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from runtime_bench import asyncio_debug
from runtime_bench.server import ServerError, UvicornServer
from runtime_bench.stall_app import SNAPSHOT_PATH
from runtime_bench.traffic import Background, Induced, Scenario, drive

SETTLE_S = 0.5  # after the last request: the watchdog reports a stall once the loop ticks again


@dataclass(frozen=True, slots=True)
class Mode:
    key: str
    label: str
    factory: str
    env: tuple[tuple[str, str], ...] = ()
    debug: bool = False


MODES = (
    Mode("monitor", "loopsafe monitor (threshold 50 ms)", "runtime_bench.stall_app:monitored"),
    Mode(
        "debug",
        "asyncio debug mode (`slow_callback_duration` 0.05 s)",
        "runtime_bench.stall_app:plain",
        env=((asyncio_debug.ENV, "1"), (asyncio_debug.SLOW_CALLBACK_ENV, "0.05")),
        debug=True,
    ),
)


@dataclass(slots=True)
class ModeRun:
    mode: Mode
    induced: list[Induced] = field(default_factory=list)
    snapshot: dict[str, Any] | None = None
    threads: list[str] = field(default_factory=list)
    log: str = ""
    background_requests: int = 0
    background_errors: int = 0
    seconds: float = 0.0
    exit_code: int | None = None
    stop_seconds: float | None = None
    killed: bool = False


def run_mode(
    mode: Mode,
    scenarios: list[Scenario],
    env: dict[str, str],
    reps: int,
    gap: float,
    background_threads: int,
) -> ModeRun:
    result = ModeRun(mode)
    server = UvicornServer(mode.factory, env={**env, **dict(mode.env)})
    started = time.monotonic()
    try:
        with server:
            if mode.debug and asyncio_debug.MARK not in server.stderr_text():
                raise ServerError(f"{mode.key}: the server is not in asyncio debug mode")
            with httpx.Client(base_url=server.url, timeout=10) as client:
                for _ in range(5):
                    client.get("/json")
                with Background(server.url, threads=background_threads) as bg:
                    result.induced = drive(server.url, scenarios, reps, gap, mode.key)
                    time.sleep(SETTLE_S)
                result.background_requests, result.background_errors = bg.requests, bg.errors
                data = client.get(SNAPSHOT_PATH).json()
            result.snapshot = data.get("snapshot")
            result.threads = list(data.get("threads", []))
        result.log = server.stderr_text()
    finally:
        result.seconds = time.monotonic() - started
        result.exit_code, result.stop_seconds = server.exit_code, server.stop_seconds
        result.killed = server.killed
        server.cleanup()
    return result
