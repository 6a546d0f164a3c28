"""Serving behind an ingress: `--root-path /prefix`, and `X-Forwarded-Prefix`/`-Host`/`-Proto` from trusted proxies.

A prefix-stripping proxy serves the mock at `https://host/mock/...` and forwards `/api/v1/ui/`.
This layer sets the request's `root_path` to the public prefix, so Swagger UI loads
`/mock/api/v1/openapi.json`, the served spec's `servers` names `https://host/mock`, and redirects
keep the prefix (Connexion and Starlette build those from `root_path`; the layers behind read
`path` without the prefix, which is how Starlette's routing takes it when it does not start with
`root_path`; Swagger UI's paths alone are given ASGI's own convention, `path` starting with
`root_path`, which its nested Starlette mounts need to find their static files).

- `--root-path /prefix`: the prefix of every request; a request that still carries it (sent to the
  mock directly, or by a proxy that does not strip it) has it removed from its path.
- From a client in `--forwarded-allow-ips` (addresses, or `*` for any) only: `X-Forwarded-Prefix`
  (the de-facto header of Traefik, Spring and others; it replaces `--root-path`), `X-Forwarded-Host`
  (the `Host` the browser used: the allowed-hosts check and the served spec's `servers` read it)
  and `X-Forwarded-Proto` (`http` or `https`). From any other client they are ignored: a page
  rebound to 127.0.0.1 could otherwise claim any host. uvicorn's own proxy support (`X-Forwarded-For`
  and `-Proto`) is given the same list.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from reference_impl.app import API_PREFIX

ANY_CLIENT = "*"
SWAGGER_UI_PATH = f"{API_PREFIX}/ui"  # as reference_impl.app.SWAGGER_UI_OPTIONS serves it


def check_root_path(text: str) -> str:
    """`/prefix` without a trailing slash ('' for `/`), else ValueError saying why."""
    path = text.strip().rstrip("/")
    if path and (not path.startswith("/") or any(c in path for c in "?#% ") or "//" in path):
        raise ValueError(f"{text!r} is not a path prefix: give one like /mock or /teams/session-mock")
    if path.split("/")[1:2] in (["api"], ["__mock"], ["health"]):
        raise ValueError(f"{text!r} would be read as the mock's own paths (/api, /__mock, /health): choose another prefix")
    return path


def _header(scope: Scope, name: bytes) -> str | None:
    value = next((v.decode("latin-1") for k, v in scope["headers"] if k == name), None)
    return None if value is None else value.split(",")[0].strip()


class ForwardedMiddleware:
    """Sets `root_path` (and, from trusted proxies, host and scheme) as the module docstring says."""

    def __init__(self, app: ASGIApp, root_path: str = "", trusted: Iterable[str] = (), mounted: tuple[str, ...] = (SWAGGER_UI_PATH,)) -> None:
        self.app = app
        self.root_path = root_path
        self.trusted = frozenset(trusted)
        self.mounted = mounted  # paths answered by nested Starlette mounts (Swagger UI): given ASGI's convention

    def trusts(self, scope: Scope) -> bool:
        client = scope.get("client")
        return ANY_CLIENT in self.trusted or (client is not None and client[0] in self.trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope = dict(scope)  # (the layer is on only with --root-path or --forwarded-allow-ips)
        root = self.root_path
        if root and (scope["path"] == root or scope["path"].startswith(root + "/")):
            scope["path"] = scope["path"][len(root):] or "/"
            scope["raw_path"] = scope["path"].encode()
        if self.trusted and self.trusts(scope):
            prefix = _header(scope, b"x-forwarded-prefix")
            if prefix is not None:
                try:
                    root = check_root_path(prefix) if prefix.startswith("/") else root
                except ValueError:
                    pass  # a prefix that cannot be one is ignored, as a missing one is
            host = _header(scope, b"x-forwarded-host")
            if host:
                scope["headers"] = [(k, v) for k, v in scope["headers"] if k != b"host"] + [(b"host", host.encode("latin-1"))]
            proto = _header(scope, b"x-forwarded-proto")
            if proto in ("http", "https"):
                scope["scheme"] = proto
        scope["root_path"] = root
        if root and scope["path"].startswith(self.mounted):
            # Swagger UI's static files sit in nested Starlette mounts, which need ASGI's own convention
            # (`path` starts with `root_path`); Starlette's routing takes both forms.
            scope["path"] = root + scope["path"]
            scope["raw_path"] = scope["path"].encode()
        await self.app(scope, receive, send)
