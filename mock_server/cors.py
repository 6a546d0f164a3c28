"""CORS for the browser contexts frontend developers meet, on Starlette's `CORSMiddleware`.

- Origins: by default any `http://localhost:<port>`, `http://127.0.0.1:<port>` or `http://[::1]:<port>`
  (any local dev server: Vite 5173, CRA 3000, Angular 4200, ...); `--cors-origin` replaces the default.
- Credentialed requests (`fetch(url, {credentials: "include"})`, axios `withCredentials`): with
  credentials allowed (the default, `--no-cors-credentials` turns it off) every answer to an allowed
  origin carries `Access-Control-Allow-Credentials: true` and echoes the origin; the answer never says
  `Access-Control-Allow-Origin: *` then, since browsers refuse that (Fetch standard, CORS check).
- Private Network Access: a preflight with `Access-Control-Request-Private-Network: true` (Chrome
  asks it when a less private page calls the mock on loopback) is answered with
  `Access-Control-Allow-Private-Network: true` for allowed origins (WICG Private Network Access).
- A refused preflight answers 400 in JSON, `{"detail": "CORS preflight refused: ..."}`, like every
  other error of the mock.
- Loud refusals: every refused preflight, and every request from a refused origin (answered, but
  without CORS headers: the browser hides the answer from the page), is one WARNING line on the
  `session_mock.cors` logger naming the origin, the method and the reason.
- Methods are case-sensitive (Fetch upper-cases only DELETE, GET, HEAD, OPTIONS, POST and PUT): a
  preflight for `patch` answers 200 without `patch` (nor `PATCH`) in `Access-Control-Allow-Methods`,
  so the browser's console names the method (instead of "does not have HTTP ok status"), and the
  log line says that methods are case-sensitive.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from reference_impl.errors import error_response

LOCAL_ORIGIN_REGEX = r"http://(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?"
ALLOWED_METHODS = ["GET", "POST", "PATCH", "DELETE", "HEAD", "OPTIONS"]
# Headers a browser client may read from a cross-origin answer besides the CORS-safelisted ones.
EXPOSED_HEADERS = ["Allow", "Content-Length", "Location", "Preference-Applied", "Retry-After"]
ANY_ORIGIN = "*"
_REFUSALS = {
    "origin": "origin {origin} is not allowed (see --cors-origin)",
    "method": "method {method} is not allowed",
    "headers": "a requested header is not allowed",
    "private-network": "Private Network Access is not allowed",
}
log = logging.getLogger("session_mock.cors")
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def cors_options(origins: list[str] | None, credentials: bool = True) -> dict[str, Any]:
    """Keyword arguments for `JsonCORSMiddleware`: the explicit origins, or the local-dev-server default."""
    common: dict[str, Any] = {
        "allow_methods": ALLOWED_METHODS,
        "allow_headers": ["*"],
        "expose_headers": EXPOSED_HEADERS,
        "allow_credentials": credentials,
        "allow_private_network": True,
        "max_age": 600,
    }
    if origins:
        return {"allow_origins": list(origins), **common}
    return {"allow_origin_regex": LOCAL_ORIGIN_REGEX, **common}


def describe(origins: list[str] | None, credentials: bool = True) -> str:
    """The banner's one-line summary of the CORS policy."""
    allowed = ", ".join(origins) if origins else "any http://localhost:<port> or http://127.0.0.1:<port>"
    return f"{allowed}; credentials {'allowed' if credentials else 'not allowed'}; Private Network Access allowed"


_HOST = re.compile(r"[a-z0-9-]+(\.[a-z0-9-]+)*|[0-9a-f:.]+", re.IGNORECASE)
"""A hostname as browsers serialize it (punycode labels), or an IPv6 literal (urlsplit drops its brackets)."""


def check_origin(text: str) -> str:
    """`text` if it is an origin a browser can send in its `Origin` header, else ValueError saying why.

    A serialized origin (RFC 6454 section 6.2, the Fetch standard) is `scheme://host[:port]`: scheme
    and host in lowercase, no path (not even `/`), query, fragment or user info, and no port when it
    is the scheme's default. `null` (file:// pages, sandboxed frames) and `*` (any origin) are accepted.
    """
    if text in ("null", ANY_ORIGIN):
        return text
    parts = urlsplit(text)
    hint = "an origin is scheme://host[:port], e.g. http://localhost:5173"
    if "://" not in text or not parts.scheme or not parts.hostname:
        raise ValueError(f"{text!r} has no scheme or host: {hint}")
    if not _SCHEME.fullmatch(parts.scheme) or text != text.strip():
        raise ValueError(f"{text!r} is not an origin a browser sends: {hint}")
    if "," in text:
        raise ValueError(f"{text!r} holds several origins; give --cors-origin once per origin")
    if parts.path or parts.query or parts.fragment or text.endswith(("?", "#")):
        raise ValueError(f"{text!r} has a path, query or fragment; browsers send only scheme://host[:port] ({parts.scheme}://{parts.netloc})")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"{text!r} has user info; browsers never send it in an origin")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{text!r} has an invalid port") from None
    if port == 0:
        raise ValueError(f"{text!r} names port 0, which no page is served from")
    if port is not None and _DEFAULT_PORTS.get(parts.scheme) == port:
        raise ValueError(f"{text!r} names the default port; browsers leave it out ({parts.scheme}://{parts.hostname})")
    if not parts.hostname.isascii():
        ascii_host = parts.hostname.encode("idna").decode("ascii")
        raise ValueError(f"{text!r} has a non-ASCII host; browsers send it in punycode ({ascii_host})")
    if not _HOST.fullmatch(parts.hostname):
        raise ValueError(f"{text!r} has a host a browser never sends (letters, digits, '-' and '.' labels, or an [IPv6] address; "
                         "no wildcards or spaces)")
    if text != text.lower():
        raise ValueError(f"{text!r} has capitals; browsers send scheme and host in lowercase ({text.lower()})")
    return text


def _own_origin(scope: Scope, headers: Headers) -> str:
    """The origin the request was sent to (a same-origin request's `Origin` is this)."""
    return f"{scope.get('scheme', 'http')}://{headers.get('host', '')}"


class JsonCORSMiddleware(CORSMiddleware):
    """Starlette's `CORSMiddleware`: refusals answered as JSON naming the reason and logged (see the module docstring)."""

    async def simple_response(self, scope: Scope, receive: Receive, send: Send, request_headers: Headers) -> None:
        origin = request_headers.get("origin")
        if origin is not None and not self.is_allowed_origin(origin) and origin != _own_origin(scope, request_headers):
            log.warning(
                "CORS refused origin %s for %s %s (not allowed, see --cors-origin): answered without CORS headers, "
                "so the browser hides the answer from the page", origin, scope["method"], scope["path"],
            )
        await super().simple_response(scope, receive, send, request_headers)

    def preflight_response(self, request_headers: Headers) -> Response:
        origin = request_headers.get("origin")
        method = request_headers.get("access-control-request-method", "")
        if method not in self.allow_methods and method.upper() in self.allow_methods:
            # Answered as for the upper-case method, but without it among the allowed methods: Chromium
            # compares the upper-cased method with the list, so only its absence makes the console say
            # "Method patch is not allowed by Access-Control-Allow-Methods" (and the request is never sent;
            # uvicorn's parser would refuse its lower-case method line with a bare 400).
            raw = [(k, method.upper().encode("latin-1") if k == b"access-control-request-method" else v) for k, v in request_headers.raw]
            response = super().preflight_response(Headers(raw=raw))
            if response.status_code == 200:
                allowed = [m for m in response.headers["access-control-allow-methods"].split(", ") if m != method.upper()]
                response.headers["access-control-allow-methods"] = ", ".join(allowed)
                log.warning(
                    "CORS preflight from %s for method %r: methods are case-sensitive, and the browser sends %r as written "
                    "(fetch upper-cases only DELETE, GET, HEAD, OPTIONS, POST and PUT): %r is not among the allowed methods; "
                    "send %r", origin, method, method, method, method.upper(),
                )
                return response
        response = super().preflight_response(request_headers)
        if response.status_code == 200:
            return response
        failures = bytes(response.body).decode().removeprefix("Disallowed CORS ").split(", ")
        reasons = [
            _REFUSALS.get(failure, failure).format(
                origin=request_headers.get("origin"), method=request_headers.get("access-control-request-method")
            )
            for failure in failures
        ]
        # Private Network Access is granted only together with an allowed origin.
        dropped = ("content-type", "content-length", "access-control-allow-private-network")
        headers = {k: v for k, v in response.headers.items() if k not in dropped}
        log.warning("CORS preflight refused for origin %s, method %s: %s (answered 400)", origin, method, "; ".join(reasons))
        return error_response(400, "CORS preflight refused: " + "; ".join(reasons), headers)
