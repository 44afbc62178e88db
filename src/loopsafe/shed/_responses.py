"""The small responses the shedder and the deadline send: problem+json (RFC 9457), prebuilt."""

from __future__ import annotations

import json

from loopsafe.runtime._asgi import Message, Receive, Send

_MAX_DRAIN = 64 * 1024  # request bodies up to this are read so the connection can be kept alive


def problem_body(status: int, title: str, detail: str) -> bytes:
    return json.dumps(
        {"type": "about:blank", "title": title, "status": status, "detail": detail},
        separators=(",", ":"),
    ).encode()


def has_body(headers: list[tuple[bytes, bytes]]) -> int:
    """The announced body size: 0 for none, -1 for chunked (unknown)."""
    for name, value in headers:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return -1
        if name == b"transfer-encoding":
            return -1
    return 0


async def drain(receive: Receive) -> bool:
    """Read a small request body so the connection stays usable; False if it is too big."""
    total = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return False
        total += len(message.get("body", b""))
        if total > _MAX_DRAIN:
            return False
        if not message.get("more_body", False):
            return True


async def send_problem(
    send: Send,
    receive: Receive,
    scope: Message,
    status: int,
    body: bytes,
    extra: list[tuple[bytes, bytes]],
    *,
    close: bool | None = None,
) -> None:
    """Send a problem+json response. ``close=None``: the request body is untouched, so read a
    small one and keep the connection (close it for a big one); True/False: decided by the
    caller, the body is left alone."""
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
        *extra,
    ]
    if close is None:
        size = has_body(scope.get("headers") or [])
        close = bool(size) and (size > _MAX_DRAIN or not await drain(receive))
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
