"""uvicorn as a subprocess on 127.0.0.1: started, waited for, and always stopped (``with``)."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from runtime_bench.common import BENCH_DIR, free_port, python

# One worker, the stdlib loop and h11 by default, so the variants differ only in the app.
UVICORN_FLAGS = (
    "--loop", "asyncio", "--http", "h11", "--no-access-log", "--lifespan", "on",
    "--log-level", "warning", "--workers", "1",
)  # fmt: skip
# The server stacks a benchmark can choose: ``standard`` is what ``pip install
# uvicorn[standard]`` (and ``fastapi[standard]``) runs by default, uvloop and httptools.
STACKS = {"stdlib": ("asyncio", "h11"), "standard": ("uvloop", "httptools")}
STACK_PACKAGES = {"stdlib": (), "standard": ("uvloop", "httptools")}  # versions worth reporting


class ServerError(RuntimeError):
    pass


class UvicornServer:
    """``with UvicornServer("runtime_bench.overhead_app:bare") as s: ... s.url ...``.

    ``factory`` is ``module:function`` under ``benchmarks/``; ``cpu`` pins the process with
    ``taskset -c``; ``env`` adds environment variables; ``stack`` picks the event loop and HTTP
    parser (``STACKS``). stderr goes to a temp file
    (``stderr_text()``); on exit the server gets SIGINT (graceful: lifespan shutdown runs), then
    SIGKILL if it has not exited after ``stop_timeout`` seconds.
    """

    def __init__(
        self,
        factory: str,
        *,
        cpu: int | None = None,
        env: Mapping[str, str] | None = None,
        ready_path: str = "/json",
        start_timeout: float = 30.0,
        stop_timeout: float = 10.0,
        stack: str = "stdlib",
    ) -> None:
        if stack not in STACKS:
            raise ValueError(f"stack must be one of {', '.join(STACKS)}, got {stack!r}")
        self.factory = factory
        self.stack = stack
        self.port = free_port()
        self.cpu = cpu
        self.env = dict(env or {})
        self.ready_path = ready_path
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.exit_code: int | None = None
        self.stop_seconds: float | None = None
        self.killed = False
        self._stderr = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed in __exit__)
            prefix="loopsafe-bench-uvicorn-", suffix=".log", delete=False
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def argv(self) -> list[str]:
        cmd = [python(), "-m", "uvicorn", "--factory", self.factory]
        cmd += ["--app-dir", str(BENCH_DIR), "--host", "127.0.0.1", "--port", str(self.port)]
        loop, http = STACKS[self.stack]
        cmd += UVICORN_FLAGS
        cmd[cmd.index("--loop") + 1] = loop
        cmd[cmd.index("--http") + 1] = http
        if self.cpu is not None:
            cmd = ["taskset", "-c", str(self.cpu), *cmd]
        return cmd

    def __enter__(self) -> UvicornServer:
        env = {**os.environ, **self.env}
        env["PYTHONUNBUFFERED"] = "1"
        self.proc = subprocess.Popen(
            self.argv(),
            stdin=subprocess.DEVNULL,
            stdout=self._stderr,
            stderr=self._stderr,
            env=env,
            cwd=str(BENCH_DIR.parent),
            start_new_session=True,  # a Ctrl-C of the benchmark reaches it through __exit__ only
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + self.start_timeout
        while True:
            if self.proc.poll() is not None:
                raise ServerError(
                    f"{self.factory} exited with {self.proc.returncode}:\n{self.stderr_text()}"
                )
            try:
                with urllib.request.urlopen(self.url + self.ready_path, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            if time.monotonic() > deadline:
                raise ServerError(f"{self.factory} did not answer within {self.start_timeout} s")
            time.sleep(0.05)

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far (all its threads)."""
        if self.proc is None:
            return 0.0
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def run_ns(self) -> int:
        """Nanoseconds all its threads have run on a CPU so far (the kernel's schedstat: finer
        than ``cpu_seconds``' clock ticks); 0 where /proc has no schedstat."""
        if self.proc is None:
            return 0
        total = 0
        task_dir = Path(f"/proc/{self.proc.pid}/task")
        try:
            tasks = list(task_dir.iterdir())
        except OSError:
            return 0
        for task in tasks:
            try:
                total += int((task / "schedstat").read_text().split()[0])
            except (OSError, IndexError, ValueError):  # a thread that just ended
                continue
        return total

    def threads(self) -> int:
        if self.proc is None:
            return 0
        return len(os.listdir(f"/proc/{self.proc.pid}/task"))

    def stop(self) -> None:
        proc = self.proc
        if proc is None or self.exit_code is not None:
            return
        started = time.monotonic()
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                self.killed = True
                proc.kill()
                proc.wait(timeout=10)
        self.stop_seconds = time.monotonic() - started
        self.exit_code = proc.returncode

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.stop()
        finally:
            self._stderr.close()

    def stderr_text(self) -> str:
        return Path(self._stderr.name).read_text(errors="replace")

    def cleanup(self) -> None:
        """Delete the stderr file (call after reading it)."""
        Path(self._stderr.name).unlink(missing_ok=True)
