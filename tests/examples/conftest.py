"""Servers for the example tests: PostgreSQL, the upstream app, the service and the twin.

Every server is a real process on 127.0.0.1 (the examples are separate apps that both use the
package name `app`, and read their settings from the environment at import time).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.examples import _postgres

ROOT = Path(__file__).parents[2]
EXAMPLES = ROOT / "examples"
SERVE = Path(__file__).with_name("_serve.py")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Process:
    """A server subprocess with its log; `stop()` sends SIGTERM and reports how it ended."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self._log = log.open("wb")
        self.proc = subprocess.Popen(
            [a.replace("{port}", str(self.port)) for a in args],
            cwd=cwd,
            env={**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'src'}", **env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, path: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=5) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    out = self.output()
                    self._log.close()
                    raise RuntimeError(f"server exited {self.proc.returncode}:\n{out}")
                try:
                    client.get(self.url + path)
                    return
                except httpx.TransportError:
                    time.sleep(0.1)
        out = self.output()
        self.stop()
        raise RuntimeError(f"server not ready after {timeout} s:\n{out}")

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log.read_text(errors="replace")

    def stop(self, timeout: float = 20) -> int | None:
        """SIGTERM, wait up to `timeout`; the return code, or None if it had to be killed."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
                self._log.close()
                return None
        self._log.close()
        return self.proc.returncode


class AppServer(Process):
    """An example app under uvicorn (tests/examples/_serve.py), monitor readable over HTTP."""

    def __init__(self, app_dir: Path, env: dict[str, str], log: Path) -> None:
        super().__init__([sys.executable, str(SERVE), str(app_dir), "{port}"], app_dir, env, log)
        self.wait_ready("/_test/loopsafe-snapshot")

    def snapshot(self) -> dict[str, Any]:
        return httpx.get(self.url + "/_test/loopsafe-snapshot", timeout=10).json()  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def postgres() -> Iterator[_postgres.Postgres]:
    reason = _postgres.missing_reason()
    if reason:
        pytest.skip(reason)
    server = _postgres.Postgres().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of examples/upstream; append a profile: /ok, /ms150, /slow, /fail."""
    log = tmp_path_factory.mktemp("upstream") / "upstream.log"
    args = [sys.executable, "-m", "uvicorn", "upstream:app", "--host", "127.0.0.1",
            "--port", "{port}", "--log-level", "warning", "--timeout-graceful-shutdown", "1"]  # fmt: skip
    server = Process(args, EXAMPLES / "upstream", {"UPSTREAM_SLOW_MS": "20000"}, log)
    try:
        server.wait_ready("/ok/latest", timeout=30)
        yield server.url
    finally:
        server.stop()
