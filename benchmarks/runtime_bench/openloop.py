"""An open-loop HTTP/1.1 load generator on asyncio protocols: requests leave at a fixed rate
whatever the server does, so an overloaded server really is overloaded (a closed-loop tool such
as wrk slows down with the server instead).

Each arrival takes an idle kept-alive connection, or opens a new one; a response with
``connection: close`` (uvicorn's ``--limit-concurrency`` 503) closes its connection. Latency is
counted from the scheduled send time, so a late generator cannot hide queueing (no coordinated
omission). A request unanswered after ``timeout`` seconds is abandoned (its connection closed),
as a client would.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from dataclasses import dataclass, field

TIMEOUT = -1  # status of an abandoned request
FAILED = -2  # status of a request whose connection failed


@dataclass
class Result:
    """One request: when it was due (seconds from the start), its status and latency."""

    due: float
    status: int = 0
    latency: float = 0.0


@dataclass
class Run:
    results: list[Result] = field(default_factory=list)
    connections_opened: int = 0
    max_connections: int = 0
    late_sends: int = 0  # arrivals the generator sent more than 10 ms late


class _Conn(asyncio.Protocol):
    def __init__(self, gen: _Generator) -> None:
        self.gen = gen
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.current: Result | None = None
        self.waiter: asyncio.Future[None] | None = None  # closed loop: wakes the worker

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, result: Result) -> None:
        self.current = result
        assert self.transport is not None
        self.transport.write(self.gen.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self.current is None:
            return
        head = self.buffer[:end].lower()
        pos = head.find(b"content-length:")
        size = 0
        if pos >= 0:
            eol = head.find(b"\r\n", pos)
            size = int(head[pos + 15 : eol if eol >= 0 else len(head)])
        if len(self.buffer) < end + 4 + size:
            return
        self.buffer = self.buffer[end + 4 + size :]
        result, self.current = self.current, None
        result.status = int(head[9:12])
        result.latency = time.perf_counter() - self.gen.start - result.due
        self.gen.pending.discard(self)
        if self.waiter is not None:
            self.waiter.set_result(None)
        elif b"connection: close" in head:
            assert self.transport is not None
            self.transport.close()
        else:
            self.gen.idle.append(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.gen.open -= 1
        self.gen.pending.discard(self)
        if self.current is not None:
            self.current.status = FAILED
            self.current.latency = time.perf_counter() - self.gen.start - self.current.due
            self.current = None
        with contextlib.suppress(ValueError):
            self.gen.idle.remove(self)


class _Generator:
    def __init__(self, host: str, port: int, path: str, timeout: float) -> None:
        self.host = host
        self.port = port
        self.request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
        self.timeout = timeout
        self.idle: deque[_Conn] = deque()
        self.pending: set[_Conn] = set()
        self.connecting: set[asyncio.Future[None]] = set()
        self.open = 0
        self.start = 0.0
        self.run = Run()

    def launch(self, result: Result) -> None:
        while self.idle:
            conn = self.idle.pop()  # most recently used: the others may time out idle
            if conn.transport is not None and not conn.transport.is_closing():
                self.pending.add(conn)
                conn.send(result)
                return
        task = asyncio.ensure_future(self._connect(result))
        self.connecting.add(task)  # a reference, so the task is not collected mid-flight
        task.add_done_callback(self.connecting.discard)

    async def _connect(self, result: Result) -> None:
        loop = asyncio.get_running_loop()
        self.open += 1
        self.run.connections_opened += 1
        self.run.max_connections = max(self.run.max_connections, self.open)
        try:
            _, conn = await loop.create_connection(lambda: _Conn(self), self.host, self.port)
        except OSError:
            self.open -= 1
            result.status = FAILED
            result.latency = time.perf_counter() - self.start - result.due
            return
        self.pending.add(conn)
        conn.send(result)

    def sweep(self, now: float) -> None:
        for conn in list(self.pending):
            current = conn.current
            if current is not None and now - self.start - current.due > self.timeout:
                current.status = TIMEOUT
                current.latency = self.timeout
                conn.current = None
                self.pending.discard(conn)
                if conn.transport is not None:
                    conn.transport.abort()

    def close(self) -> None:
        for conn in list(self.idle) + list(self.pending):
            if conn.transport is not None:
                conn.transport.abort()


async def _run(
    host: str, port: int, path: str, rate: float, duration: float, give_up: float
) -> Run:
    timeout = give_up
    gen = _Generator(host, port, path, timeout)
    interval = 1.0 / rate
    total = int(rate * duration)
    gen.start = time.perf_counter()
    sent = 0
    last_sweep = 0.0
    while sent < total:
        now = time.perf_counter() - gen.start
        while sent < total and sent * interval <= now:
            result = Result(sent * interval)
            if now - result.due > 0.010:
                gen.run.late_sends += 1
            gen.run.results.append(result)
            gen.launch(result)
            sent += 1
        if now - last_sweep > 0.05:
            gen.sweep(time.perf_counter())
            last_sweep = now
        await asyncio.sleep(max(0.0, sent * interval - (time.perf_counter() - gen.start)))
    deadline = time.perf_counter() + timeout + 1
    while any(r.status == 0 for r in gen.run.results[-2000:]) and time.perf_counter() < deadline:
        gen.sweep(time.perf_counter())
        await asyncio.sleep(0.05)
    gen.sweep(time.perf_counter() + timeout + 1)
    gen.close()
    await asyncio.sleep(0.1)
    return gen.run


def run_open_loop(
    port: int, rate: float, duration: float, *, path: str = "/work", timeout: float = 2.0
) -> Run:
    """Send ``rate`` requests a second for ``duration`` seconds to 127.0.0.1:``port``."""
    return _new_loop_run(_run("127.0.0.1", port, path, rate, duration, timeout))


async def _closed(port: int, path: str, concurrency: int, duration: float) -> Run:
    gen = _Generator("127.0.0.1", port, path, 10.0)
    gen.start = time.perf_counter()
    end = duration

    async def worker() -> None:
        loop = asyncio.get_running_loop()
        _, conn = await loop.create_connection(lambda: _Conn(gen), "127.0.0.1", port)
        while time.perf_counter() - gen.start < end:
            result = Result(time.perf_counter() - gen.start)
            gen.run.results.append(result)
            conn.waiter = loop.create_future()
            conn.send(result)
            await conn.waiter
        assert conn.transport is not None
        conn.transport.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return gen.run


def run_closed_loop(port: int, concurrency: int, duration: float, *, path: str = "/work") -> Run:
    """``concurrency`` connections each sending the next request when the last is answered."""
    return _new_loop_run(_closed(port, path, concurrency, duration))


def _new_loop_run(coro: object) -> Run:
    try:
        import uvloop

        runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    except ImportError:
        runner = asyncio.Runner()
    with runner:
        return runner.run(coro)  # type: ignore[arg-type]
