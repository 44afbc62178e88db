"""The CPU work of one request through a real uvicorn server, counted in instructions: no noise.

Throughput on a shared virtual machine moves by several % between runs and even between two
processes of the same app (memory layout), more than the cost being measured. Instructions do
not: valgrind's cachegrind counts every instruction the server process runs, and two servers
that serve ``small`` and ``large`` requests differ by the cost of ``large - small`` requests
(start-up and shutdown cancel out): for the bare app the same to within a few instructions from
run to run, for the monitor's variants to within about 0.5% (their per-second work depends on
how long the run takes).

The server is the benchmark's uvicorn command under ``valgrind --tool=cachegrind
--cache-sim=no`` with ``PYTHONHASHSEED=0``; the load is exactly N ``GET /json`` requests over
``connections`` keep-alive connections from an asyncio client in this process. valgrind runs the
server tens of times slower, so work that happens per second rather than per request (loopsafe's
heartbeat and watchdog) would weigh tens of times more per request than it does natively:
``slowdown`` (the measured ratio of native to valgrind throughput) stretches the monitor's
interval and threshold, and asyncio's slow-callback threshold, by the same factor.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from runtime_bench.asyncio_debug import SLOWDOWN_ENV
from runtime_bench.common import BENCH_DIR, free_port, python
from runtime_bench.server import UVICORN_FLAGS

_REQUEST = b"GET /json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


class InstructionsError(RuntimeError):
    pass


def available() -> bool:
    return shutil.which("valgrind") is not None


async def _connection(port: int, count: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for _ in range(count):
            writer.write(_REQUEST)
            head = await reader.readuntil(b"\r\n\r\n")
            match = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
            if not head.startswith(b"HTTP/1.1 200") or match is None:
                raise InstructionsError(f"unexpected response: {head[:80]!r}")
            await reader.readexactly(int(match.group(1)))
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def _load(port: int, requests: int, connections: int) -> float:
    """Send exactly ``requests`` requests; return how long they took."""
    per, extra = divmod(requests, connections)
    start = time.monotonic()
    await asyncio.gather(*(_connection(port, per + (i < extra)) for i in range(connections)))
    return time.monotonic() - start


async def _ready(port: int, patience: float) -> None:
    deadline = time.monotonic() + patience
    while True:
        try:
            await _load(port, 1, 1)
            return
        except (OSError, asyncio.IncompleteReadError, InstructionsError):
            if time.monotonic() > deadline:
                raise InstructionsError(f"the server on port {port} did not answer") from None
            await asyncio.sleep(0.5)


def _count(
    factory: str, env: Mapping[str, str], cpu: int | None, requests: int, connections: int
) -> tuple[int, float]:
    """(instructions of the whole server process, seconds the ``requests`` took)."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="loopsafe-bench-vg-") as tmp:
        log = Path(tmp) / "valgrind.log"
        cmd = [
            "valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
            f"--log-file={log}", python(), "-m", "uvicorn", "--factory", factory,
            "--host", "127.0.0.1", "--port", str(port), *UVICORN_FLAGS,
        ]  # fmt: skip
        if cpu is not None:
            cmd = ["taskset", "-c", str(cpu), *cmd]
        proc = subprocess.Popen(
            cmd,
            cwd=BENCH_DIR,
            env={**os.environ, **env, "PYTHONHASHSEED": "0"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            asyncio.run(_ready(port, 120))
            seconds = asyncio.run(_load(port, requests, connections))
            proc.send_signal(2)  # SIGINT: uvicorn shuts down and valgrind writes its totals
            proc.wait(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        match = re.search(r"I\s+refs:\s+([\d,]+)", log.read_text(errors="replace"))
        if match is None:
            raise InstructionsError(f"valgrind printed no instruction count for {factory}")
        return int(match.group(1).replace(",", "")), seconds


def per_request(
    factory: str,
    env: Mapping[str, str],
    *,
    cpu: int | None,
    small: int,
    large: int,
    connections: int,
    slowdown: float = 1.0,
) -> tuple[float, float]:
    """(instructions per request, requests/s under valgrind) for one app variant."""
    env = {**env, SLOWDOWN_ENV: f"{slowdown:g}"}
    few, _ = _count(factory, env, cpu, small, connections)
    many, seconds = _count(factory, env, cpu, large, connections)
    return (many - few) / (large - small), large / seconds
