"""Allowed hosts: requests for a `Host` the mock does not answer to get 403, against DNS rebinding.

A web page whose name is rebound to 127.0.0.1 reaches the mock as same-origin, with its own name in
`Host`; Vite's and webpack's dev servers refuse unknown hosts for this reason, and so does the mock.
Allowed: the loopback names (`localhost`, `*.localhost`, `127.0.0.1`, `[::1]`), and the names given
(`--allowed-host`, repeatable; the command adds the address it is bound to): an exact name, `*.suffix`
for any name under it, or `*` for any host (no protection). Names compare without letter case, port
or trailing dot. A request without `Host` (HTTP/1.0) passes: browsers always send one.

Starlette's `TrustedHostMiddleware` is not used: it answers 400 in plain text and cuts an IPv6
`Host` (`[::1]:8090`) at its first colon.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from reference_impl.errors import error_response

LOOPBACK_NAMES = ("localhost", "*.localhost", "127.0.0.1", "[::1]")
ANY_HOST = "*"
log = logging.getLogger("session_mock.hosts")


def host_name(host: str) -> str:
    """The name of a `Host` value: lower case, without port or trailing dot (`[::1]` keeps its brackets)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.partition(":")[0].rstrip(".")


def _configured(name: str) -> str:
    """A configured name in the form `host_name` gives (an IPv6 address gets its brackets)."""
    name = name.strip().lower()
    if name.startswith("*"):
        return name
    if name.count(":") > 1 and not name.startswith("["):
        return f"[{name}]"
    return host_name(name)


def check_allowed_host(text: str) -> str:
    """`text` as an `--allowed-host` value (a name, `*.suffix` or `*`), else ValueError saying why."""
    name = text.strip().lower()
    if name == ANY_HOST:
        return name
    bare = name.removeprefix("*.")
    hint = "give a name (api.example.com), *.example.com for any name under it, or *"
    if not bare or "*" in bare or "/" in bare or " " in bare or "@" in bare:
        raise ValueError(f"{text!r} is not a host name: {hint}")
    if bare.count(":") == 1 or "]:" in bare:
        raise ValueError(f"{text!r} has a port: give the name alone (any port is allowed)")
    return name


class AllowedHosts:
    """The names the mock answers to (see the module docstring)."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        self.names = list(dict.fromkeys(_configured(name) for name in (*LOOPBACK_NAMES, *names)))
        self.any = ANY_HOST in self.names
        self.exact = {name for name in self.names if not name.startswith("*")}
        self.suffixes = tuple(name[1:] for name in self.names if name.startswith("*."))

    def allows(self, host: str) -> bool:
        name = host_name(host)
        return self.any or name in self.exact or name.endswith(self.suffixes)

    def describe(self) -> str:
        return "any host (--allowed-host '*': no DNS-rebinding protection)" if self.any else ", ".join(self.names)


class AllowedHostsMiddleware:
    """403 JSON (reference_impl.errors) for a request whose `Host` is not allowed; one log line each."""

    def __init__(self, app: ASGIApp, hosts: AllowedHosts) -> None:
        self.app = app
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.hosts.any:
            await self.app(scope, receive, send)
            return
        host = next((value.decode("latin-1") for name, value in scope["headers"] if name == b"host"), None)
        if host is None or self.hosts.allows(host):
            await self.app(scope, receive, send)
            return
        name = host_name(host)
        log.warning("refused %s %s for Host %r: not an allowed host (add --allowed-host %s)", scope["method"], scope["path"], host, name)
        detail = (
            f"Host {host!r} is not allowed: the mock answers only to {self.hosts.describe()} "
            f"(against DNS rebinding); start it with --allowed-host {name} to allow this name"
        )
        await error_response(403, detail)(scope, receive, send)
