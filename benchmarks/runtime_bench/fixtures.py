"""What the stall scenarios block on: a slow TCP server on 127.0.0.1 and a big file."""

from __future__ import annotations

import os
import socket
import socketserver
import threading
from pathlib import Path
from types import TracebackType

SLOW_REPLY_S = 0.15
BIG_FILE_MB = 200


class _SlowHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(5)
        try:
            sock.recv(64)
            threading.Event().wait(SLOW_REPLY_S)
            sock.sendall(b"pong\n")
        except OSError:
            pass


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class SlowTcpServer:
    """Answers each line after ``SLOW_REPLY_S`` seconds; ``with`` starts and stops it."""

    def __init__(self) -> None:
        self.server = _Server(("127.0.0.1", 0), _SlowHandler)
        self.port: int = self.server.server_address[1]
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )

    def __enter__(self) -> SlowTcpServer:
        self.thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def write_big_file(directory: Path, megabytes: int = BIG_FILE_MB) -> Path:
    """A file of ``megabytes`` MiB (not all zeros), written once and fsynced."""
    path = directory / "big.bin"
    block = os.urandom(1 << 20)
    with path.open("wb") as fh:
        for _ in range(megabytes):
            fh.write(block)
        fh.flush()
        os.fsync(fh.fileno())
    return path
