"""The benchmarks are not run by the suite (they take minutes and want a quiet machine), but
they must not rot: each script starts, and the pieces that build on loopsafe's internals run."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parent.parent / "benchmarks"


@pytest.mark.parametrize("script", sorted(p.name for p in BENCH.glob("*.py")))
def test_script_starts(script: str) -> None:
    done = subprocess.run(
        [sys.executable, script, "--help"], cwd=BENCH, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage:" in done.stdout


def test_dashboard_cost_fills_a_monitor() -> None:
    code = (
        "import json, dashboard_cost\n"
        "snapshot = dashboard_cost.full_monitor().snapshot()\n"
        "print(len(snapshot['stalls']), len(snapshot['routes']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=BENCH, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["500", "100"]


def test_instruction_client_sends_exactly_the_requests_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The valgrind measurement rests on the client sending exactly N requests, spread over
    its connections (checked against a counting HTTP server on 127.0.0.1, without valgrind)."""
    monkeypatch.syspath_prepend(str(BENCH))
    from runtime_bench import instructions

    seen: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        served = 0
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                served += 1
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            seen.append(served)
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        await instructions._load(port, 70, 8)
        for _ in range(100):
            if len(seen) == 8:
                break
            await asyncio.sleep(0.01)
        server.close()
        await server.wait_closed()

    asyncio.run(main())
    assert sorted(seen) == [8, 8, 9, 9, 9, 9, 9, 9]


def test_profile_samples_are_charged_to_the_innermost_python_function(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``perf script`` output as Python 3.12's trampolines make it: the innermost ``py::``
    frame takes the sample; without one, the leaf native or kernel symbol does."""
    monkeypatch.syspath_prepend(str(BENCH))
    from runtime_bench import pyprofile

    site = "/v/lib/python3.12/site-packages"
    ours = "py::LoopSafeMiddleware.__call__:/w/src/loopsafe/runtime/middleware.py"
    text = "\n\n".join(
        [
            "101 \n\t  10bb3d unicodekeys_lookup_unicode\n\t  110811 _PyEval_EvalFrameDefault\n"
            f"\t  7fe2dccadc8 {ours}\n"
            f"\t  7fe2dccadff py::Starlette.__call__:{site}/starlette/applications.py",
            f"101 \n\t  7fe2dccadc8 {ours}",
            "202 \n\tffffffff8200542f __inet_lookup_established\n\tffffffff82036118 tcp_v4_rcv",
            "202 \n\t  10e4ce _PyEval_EvalFrameDefault",
            "202 \n\t  10e4ce _PyEval_EvalFrameDefault\n\t  7fe2dcc py::_Environ.get:<frozen os>",
            "303 \n\t  10e4ce _PyEval_EvalFrameDefault",  # another process: left out
            "",
        ]
    )
    found = pyprofile.per_function(text, [101, 202])
    assert found == {
        "LoopSafeMiddleware.__call__ (loopsafe/runtime/middleware.py)": {101: 2},
        "[kernel] __inet_lookup_established": {202: 1},
        "[native] _PyEval_EvalFrameDefault": {202: 1},
        "_Environ.get (<frozen os>)": {202: 1},
    }
