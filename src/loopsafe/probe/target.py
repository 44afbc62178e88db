"""The server under probe: one the probe starts in a child process, or one already running."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from loopsafe._errors import LoopsafeError, UsageError

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class ProbeError(LoopsafeError):
    """The app could not be probed: it does not import, does not start, or the port is taken."""


class SpawnedServer:
    """``module:app`` under uvicorn on 127.0.0.1 in a child process of its own session, so
    stopping it kills everything it started, whatever state it is in."""

    remote = False

    def __init__(
        self,
        app: str,
        *,
        app_dir: str,
        port: int = 0,
        threshold_ms: float = 20.0,
        start_timeout: float = 30.0,
    ) -> None:
        self.app = app
        self.app_dir = app_dir
        self.port = port
        self.threshold_ms = threshold_ms
        self.start_timeout = start_timeout
        self.base_url = ""
        self._control = ""
        self._proc: subprocess.Popen[bytes] | None = None
        self._log = tempfile.NamedTemporaryFile(prefix="loopsafe-probe-", suffix=".log")  # noqa: SIM115
        self.routes: dict[str, Any] = {}

    def start(self) -> None:
        read_fd, write_fd = os.pipe()
        command = [
            sys.executable,
            "-m",
            "loopsafe.probe.runner",
            "--app",
            self.app,
            "--app-dir",
            self.app_dir,
            "--port",
            str(self.port),
            "--threshold-ms",
            str(self.threshold_ms),
            "--ready-fd",
            str(write_fd),
        ]
        try:
            self._proc = subprocess.Popen(
                command,
                cwd=self.app_dir,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                pass_fds=(write_fd,),
                start_new_session=True,
            )
        finally:
            os.close(write_fd)
        with os.fdopen(read_fd, "rb") as ready:
            line = self._read_ready(ready)
        if line is None:
            self.stop()
            raise ProbeError(
                f"the app did not start within {self.start_timeout:.0f} s (--start-timeout): "
                f"{self.log_tail() or 'it printed nothing'}"
            )
        message = json.loads(line) if line.strip() else {}
        if "ready" not in message:
            self.stop()
            reason = message.get("message") or (
                f"the server exited before it was ready: {self.log_tail() or 'no output'}"
            )
            raise ProbeError(reason)
        self.base_url = f"http://127.0.0.1:{message['ready']['port']}"
        self._control = f"http://127.0.0.1:{message['ready']['control']}"
        self.routes = self.get("/routes") or {}

    def _read_ready(self, ready: Any) -> bytes | None:
        deadline = time.monotonic() + self.start_timeout
        buffer = b""
        while time.monotonic() < deadline:
            readable, _, _ = select.select([ready], [], [], 0.1)
            if readable:
                chunk = os.read(ready.fileno(), 65536)
                if not chunk:  # the child closed the pipe: it exited
                    return buffer
                buffer += chunk
                if buffer.endswith(b"\n"):
                    return buffer
        return None

    def log_tail(self) -> str:
        """The last meaningful line the app printed (its error, usually)."""
        try:
            with open(self._log.name, encoding="utf-8", errors="replace") as f:
                lines = [ln.strip() for ln in f if ln.strip()]
        except OSError:
            return ""
        return lines[-1] if lines else ""

    def get(self, path: str) -> Any:
        """Ask the control server (a thread in the child: answers even while the loop is stuck)."""
        try:
            with urllib.request.urlopen(self._control + path, timeout=5) as response:
                return json.loads(response.read())
        except (OSError, ValueError):
            return None

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def restart(self) -> None:
        self.stop()
        self.port = int(urllib.parse.urlsplit(self.base_url).port or 0)
        self.start()

    def stop(self) -> None:
        """SIGTERM (uvicorn shuts down, running the lifespan's cleanup), then SIGKILL after 5 s;
        to the whole process group, so nothing the app started is left behind."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            if proc.poll() is not None:
                break
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                continue
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # children the app left in its group

    def close(self) -> None:
        self.stop()
        self._log.close()


class RemoteServer:
    """A server already running on this machine: routes from its OpenAPI document; stalls from
    loopsafe's dashboard API when the app has it (``install(app, dashboard=True)``)."""

    remote = True

    def __init__(self, url: str, *, token: str | None = None) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or parts.hostname not in LOOPBACK:
            raise UsageError(
                f"'{url}' is not a server on this machine (--url): the probe loads only "
                "http://127.0.0.1:PORT (or localhost)"
            )
        self.base_url = url.rstrip("/")
        self.token = token
        self.routes: dict[str, Any] = {}

    def start(self) -> None:
        document = self._fetch("/openapi.json")
        if document is None:
            raise ProbeError(
                f"no OpenAPI document at {self.base_url}/openapi.json (--url): is the server "
                "running, and is it a FastAPI app? Otherwise probe it by its import path"
            )
        self.routes = {"routes": [], "openapi": document, "openapi_error": None}

    def _fetch(self, path: str) -> Any:
        request = urllib.request.Request(self.base_url + path)
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return json.loads(response.read())
        except (OSError, ValueError):
            return None

    def get(self, path: str) -> Any:
        if path == "/snapshot":
            data = self._fetch("/_loopsafe/api")
            return data if isinstance(data, dict) and "stalls" in data else None
        return None

    def alive(self) -> bool:
        return True

    def restart(self) -> None:
        raise ProbeError(f"the server at {self.base_url} stopped answering (--url)")

    def close(self) -> None:
        return
