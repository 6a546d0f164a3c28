"""`BodyLimitMiddleware`: request bodies over the limit (1 MiB by default) answer 413 JSON.

A declared `Content-Length` over the limit is refused before reading. A chunked body (no
`Content-Length`) is read here up to the limit and handed on with its `Content-Length` set, because
Connexion's body validation treats a body without `Content-Length` as missing. The 413 is raised as
`ApiError`, so reference_impl.errors renders it.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from reference_impl.asgi_body import BodyTooLarge, read_body, replay_body
from reference_impl.errors import ApiError

ONE_MIB = 1024 * 1024


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int = ONE_MIB) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self) -> ApiError:
        return ApiError(413, f"Request body too large: the limit is {self.max_bytes} bytes")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length: bytes | None = None
        chunked = False
        for name, value in scope["headers"]:  # the last one wins, as in a dict of the headers
            if name == b"content-length":
                length = value
            elif name == b"transfer-encoding":
                chunked = True
        if length is not None:
            if length.isdigit() and int(length) > self.max_bytes:
                raise self._too_large()
            await self.app(scope, receive, send)
        elif chunked:
            try:
                body = await read_body(receive, self.max_bytes)
            except BodyTooLarge:
                raise self._too_large() from None
            scope["headers"] = [(k, v) for k, v in scope["headers"] if k != b"transfer-encoding"] + [
                (b"content-length", str(len(body)).encode())
            ]
            await self.app(scope, replay_body(body, receive), send)
        else:
            await self.app(scope, receive, send)
