"""A loop held up by the host (process frozen, or starved of CPU) is not the app's stall."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from loopsafe.probe.target import SpawnedServer

ROOT = Path(__file__).parent.parent.parent


@pytest.fixture
def server() -> Iterator[SpawnedServer]:
    target = SpawnedServer("tests.probe.probe_app:app", app_dir=str(ROOT), threshold_ms=20)
    target.start()
    try:
        yield target
    finally:
        target.close()


def settle(target: SpawnedServer) -> dict:
    time.sleep(0.3)  # the watchdog reports within a poll or two of the loop ticking again
    snapshot = target.get("/snapshot")
    assert snapshot is not None
    return snapshot


def pid_of(target: SpawnedServer) -> int:
    assert target._proc is not None
    return target._proc.pid


def test_a_frozen_process_is_a_host_pause_not_a_stall(server: SpawnedServer) -> None:
    pid = pid_of(server)
    os.kill(pid, signal.SIGSTOP)
    time.sleep(0.4)
    os.kill(pid, signal.SIGCONT)
    snapshot = settle(server)
    assert snapshot["stall_count"] == 0
    assert snapshot["host_pauses"]["frozen"] >= 1
    assert snapshot["host_pauses"]["max_s"] >= 0.2

    # A real stall right after is still one, with its line.
    urllib.request.urlopen(server.base_url + "/blocking", timeout=10).read()
    snapshot = settle(server)
    assert snapshot["stall_count"] == 1
    assert snapshot["stalls"][0]["user_frame"]["path"].endswith("tests/probe/probe_app.py")


@pytest.mark.skipif(shutil.which("chrt") is None, reason="needs chrt (util-linux)")
def test_a_starved_loop_is_a_host_pause_not_a_stall(server: SpawnedServer) -> None:
    pid = pid_of(server)
    cpu = min(os.sched_getaffinity(0))
    for tid in os.listdir(f"/proc/{pid}/task"):
        os.sched_setaffinity(int(tid), {cpu})
    # A real-time busy loop on the server's only CPU: the server is runnable but gets no CPU.
    hog = subprocess.run(
        [
            "chrt",
            "-f",
            "10",
            "taskset",
            "-c",
            str(cpu),
            sys.executable,
            "-c",
            "import time\nend = time.monotonic() + 0.3\nwhile time.monotonic() < end: pass",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if hog.returncode != 0:
        pytest.skip(f"cannot run a SCHED_FIFO process here: {hog.stderr.strip()[:200]}")
    snapshot = settle(server)
    assert snapshot["lag"]["max_s"] >= 0.2  # the loop was held up that long
    assert snapshot["stall_count"] == 0  # and it was not the app's doing
    # Seen as a host pause when a watchdog poll caught the loop late (the watchdog shares the
    # starved CPU, so the loop may also tick again before any poll does: then nothing is said).
    assert snapshot["host_pauses"]["frozen"] == 0
