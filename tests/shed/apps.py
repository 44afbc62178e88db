"""The apps the shed tests serve, and a raw HTTP/1.1 client to see the connection itself."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, WebSocket
from fastapi.responses import StreamingResponse


@dataclass
class Gate:
    """Lets the test hold requests inside their handler, and know when they got there."""

    opened: threading.Event = field(default_factory=threading.Event)
    entered: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(0))
    streams_closed: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(0))

    def wait_entered(self, n: int, timeout: float = 5.0) -> None:
        for _ in range(n):
            if not self.entered.acquire(timeout=timeout):
                raise AssertionError("a request did not reach its handler")


def build(gate: Gate) -> FastAPI:
    app = FastAPI()

    async def hold() -> None:
        gate.entered.release()
        # The test thread opens the gate: a threading.Event, which the loop can only poll.
        while not gate.opened.is_set():  # noqa: ASYNC110, LS403
            await asyncio.sleep(0.01)

    @app.get("/slow")
    async def slow() -> dict[str, bool]:
        await hold()
        return {"ok": True}

    @app.get("/admin/slow")
    async def admin_slow() -> dict[str, bool]:
        await hold()
        return {"ok": True}

    @app.get("/fast")
    @app.get("/admin/fast")
    @app.get("/batch/fast")
    @app.get("/health")
    async def fast() -> dict[str, bool]:
        return {"ok": True}

    @app.post("/echo")
    async def echo(payload: dict[str, Any]) -> dict[str, Any]:
        return payload

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("handler failed")

    @app.get("/block")
    async def block(ms: int) -> dict[str, bool]:
        gate.entered.release()
        time.sleep(ms / 1000)  # noqa: ASYNC251, LS101 (on purpose: the lag policy must see it)
        return {"ok": True}

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            try:
                yield b"first\n"
                gate.entered.release()
                while True:  # noqa: LS503 (the test checks that the server cancels it)
                    await asyncio.sleep(0.01)
                    yield b"more\n"
            finally:
                gate.streams_closed.release()

        return StreamingResponse(chunks(), media_type="text/plain")

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.close(code=1000)

    return app


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes


class RawConnection:
    """One kept-alive HTTP/1.1 connection: tells whether the server closed it."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buffer = b""

    def request(self, path: str, method: str = "GET", body: bytes = b"") -> RawResponse:
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        if body:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        self.sock.sendall(head.encode() + b"\r\n" + body)
        while b"\r\n\r\n" not in self.buffer:
            self._read()
        raw_head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = raw_head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:])}
        size = int(headers.get("content-length", "0"))
        while len(self.buffer) < size:
            self._read()
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return RawResponse(status, headers, data)

    def _read(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buffer += chunk

    def closed_by_server(self) -> bool:
        self.sock.settimeout(0.5)
        try:
            return self.sock.recv(1) == b""
        except TimeoutError:
            return False
        finally:
            self.sock.settimeout(10)

    def close(self) -> None:
        self.sock.close()


def websocket_close_code(port: int, path: str) -> int | None:
    """Open a WebSocket and return the close code the server sends first (None if it accepts
    and sends something else)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        sock.sendall(
            (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                return None
            data += chunk
        head, rest = data.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            return None
        while len(rest) < 4:
            rest += sock.recv(4096)
        opcode, length = rest[0] & 0x0F, rest[1] & 0x7F
        if opcode != 0x8 or length < 2:
            return None
        return int.from_bytes(rest[2:4], "big")
    finally:
        sock.close()


def wait_until(predicate: Any, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return bool(predicate())
