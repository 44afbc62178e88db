"""The CPU cost of one request through an app variant, in-process: no server, no network.

The ASGI app is driven directly (lifespan started, then ``GET /json`` one request at a time, each
in its own task as uvicorn does), best of ``batches`` batches. It is a low-noise complement to
the wrk figures: what the variant adds per request, with the monitor's thread running. Run as
``python -m runtime_bench.inprocess MODULE:FACTORY REQUESTS BATCHES``; it prints JSON.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from typing import Any

from runtime_bench.common import BENCH_DIR, python

SCOPE: dict[str, Any] = {
    "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
    "scheme": "http", "path": "/json", "raw_path": b"/json", "query_string": b"",
    "root_path": "", "headers": [(b"host", b"127.0.0.1")], "client": ("127.0.0.1", 50000),
    "server": ("127.0.0.1", 8000),
}  # fmt: skip


async def _seconds_per_request(factory: str, requests: int, batches: int) -> float:
    module, name = factory.split(":")
    app = getattr(importlib.import_module(module), name)()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Mapping[str, Any]) -> None:
        pass

    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[Mapping[str, Any]] = asyncio.Queue()
    lifespan = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, inbox.get, outbox.put)
    )
    await inbox.put({"type": "lifespan.startup"})
    await outbox.get()
    best = float("inf")
    for _ in range(batches):
        start = time.perf_counter()
        for _ in range(requests):
            await asyncio.create_task(app(dict(SCOPE), receive, send))
        best = min(best, (time.perf_counter() - start) / requests)
    await inbox.put({"type": "lifespan.shutdown"})
    await outbox.get()
    await lifespan
    return best


def measure(
    factory: str, env: Mapping[str, str], cpu: int | None, requests: int, batches: int
) -> float | None:
    """Microseconds per request, in a fresh subprocess (pinned to ``cpu``); None if it failed."""
    cmd = [python(), "-m", "runtime_bench.inprocess", factory, str(requests), str(batches)]
    if cpu is not None:
        cmd = ["taskset", "-c", str(cpu), *cmd]
    try:
        done = subprocess.run(
            cmd, cwd=BENCH_DIR, env={**os.environ, **env}, capture_output=True, text=True,
            timeout=600,
        )  # fmt: skip
        return float(json.loads(done.stdout.strip().splitlines()[-1])["us_per_request"])
    except (OSError, subprocess.SubprocessError, ValueError, KeyError, IndexError):
        return None


def main(argv: list[str]) -> int:
    factory, requests, batches = argv[0], int(argv[1]), int(argv[2])
    seconds = asyncio.run(_seconds_per_request(factory, requests, batches))
    print(json.dumps({"us_per_request": seconds * 1e6}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
