"""Reading a whole ASGI request body, and handing it on again: the one body reader of the reference and the mock."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]


class BodyTooLarge(ValueError):
    """The body grew past the limit while it was read."""


async def read_body(receive: Receive, max_bytes: int | None = None) -> bytes:
    """Every `http.request` chunk until the last one (a disconnect ends the body early).

    With `max_bytes`, BodyTooLarge as soon as the chunks read exceed it (the rest is not read).
    """
    chunks: list[bytes] = []
    size, more_body = 0, True
    while more_body:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if max_bytes is not None and size > max_bytes:
            raise BodyTooLarge(f"over {max_bytes} bytes")
        chunks.append(chunk)
        more_body = message.get("more_body", False)
    return b"".join(chunks)


def replay_body(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands the app `body` (already read) as one message, then defers to `receive`."""
    sent = False

    async def replaying_receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replaying_receive
