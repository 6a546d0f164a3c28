"""`--proxy URL`: forward every API request to a deployment and check each exchange against the contract.

`ProxyMiddleware` sits where the mock would route a request to the reference (after the admin
routes and Swagger UI), so everything else the mock does still applies: CORS (added even when the
deployment sends none; its own `Access-Control-*` headers are dropped), the 1 MiB body limit, the
request journal. Each exchange is checked by `ExchangeChecker`; its violations and request issues
go into the journal entry (`/__mock/requests`) and the totals (`/__mock/violations`).

- Header values (`Authorization`, cookies, ...) are forwarded as sent and never logged or journaled;
  hop-by-hop headers (RFC 9110, 7.6.1) and `Host` are not forwarded. Credentials in the URL
  (`https://user:password@host`) are taken out of it and sent as the Basic header httpx would make
  of them (replacing the request's own `Authorization`, as httpx does): the URL shown anywhere has none.
- Bounded: connecting, and the whole exchange, time out after `timeout_s`; an unreachable
  deployment answers 502 and a timed-out one 504, both `{"detail": ...}`.
- TLS as `settings.tls` says (session_spec.tls: `--proxy-cacert`, the environment, `--proxy-cert`/
  `--proxy-key`). A TLS failure (unknown CA, name mismatch, plain HTTP on the other end, a client
  certificate required or refused) answers 502 with a `detail` naming its cause in one line; it is the
  proxy's set-up, not the deployment's answer, so it is never counted as a contract violation.
- `strict`: an answer with violations is replaced by 502 `{"detail": ..., "violations": [...]}`
  naming them (as `prism proxy --errors` does).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server.record import Recording
from mock_server.violations import ViolationLog
from reference_impl.asgi_body import read_body
from reference_impl.errors import error_body
from session_spec.credentials import split_credentials, without_credentials
from session_spec.exchanges import ExchangeChecker, Finding
from session_spec.tls import Tls, closed_after_handshake, tls_cause

EXCHANGE_NOTES = "session_mock.exchange"
"""Scope key of a dict the journal puts in each request's scope; the proxy adds its findings to it."""
HOP_BY_HOP = {b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer", b"transfer-encoding", b"upgrade", b"host", b"content-length"}
# httpx hands over the decoded body; uvicorn adds its own Date and Server.
DROPPED_FROM_ANSWERS = HOP_BY_HOP | {b"content-encoding", b"date", b"server"}
log = logging.getLogger("session_mock.proxy")


def parse_proxy_url(text: str) -> str:
    """`http(s)://host[:port][/prefix]` without a trailing slash; ValueError with a readable reason otherwise."""
    parts = urlsplit(text.strip())
    shown = without_credentials(text.strip())  # the messages never echo a password
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"--proxy needs an http:// or https:// URL with a host, not {shown!r}")
    if parts.query or parts.fragment:
        raise ValueError(f"--proxy URL {shown!r} must not have a query or fragment")
    try:
        _ = parts.port
    except ValueError:
        raise ValueError(f"--proxy URL {shown!r} has an invalid port") from None
    return text.strip().rstrip("/")


@dataclass(frozen=True)
class ProxySettings:
    """Where to forward, how long to wait at most, whether violating answers become 502s, and TLS.

    Credentials in `url` are taken out of it: `url` is then safe to show, and `authorization` (the
    Basic header made of them) is sent with every request and shown nowhere."""

    url: str
    strict: bool = False
    timeout_s: float = 10.0
    tls: Tls = field(default_factory=lambda: Tls(options="--proxy-"))
    authorization: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        bare, auth = split_credentials(self.url)
        if auth:  # a frozen dataclass: set once, here
            object.__setattr__(self, "url", bare)
            object.__setattr__(self, "authorization", auth["Authorization"])


class Unanswered(Exception):
    """The deployment gave no answer: the proxy's status (502, 504), a one-line detail, and the kind of
    violation it counts as (None when the fault is the proxy's set-up, as for TLS, not the deployment's)."""

    def __init__(self, status: int, detail: str, kind: str | None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.kind = status, detail, kind


def _error(status: int, detail: str, extra: dict[str, Any] | None = None) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    return status, [(b"content-type", b"application/json")], error_body(detail, extra)


class ProxyMiddleware:
    """Answers every request that reaches it from the deployment at `settings.url` (see the module docstring)."""

    def __init__(
        self, app: ASGIApp, settings: ProxySettings, checker: ExchangeChecker, violations: ViolationLog, recording: Recording | None = None
    ) -> None:
        self.app = app
        self.settings = settings
        self.checker = checker
        self.violations = violations
        self.recording = recording  # --record: the sessions answered, written at shutdown (mock_server.record)
        self.origin = "{0.scheme}://{0.netloc}".format(urlsplit(settings.url))
        self._client: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            timeout = httpx.Timeout(self.settings.timeout_s)
            self._client = httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False, verify=self.settings.tls.context())
        return self._client

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self._closing_client(send))
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        body = await read_body(receive)
        content_type = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"content-type"), "")
        operation, issues = self.checker.check_request(method, path, content_type, body)
        unanswered: Unanswered | None = None
        try:
            status, headers, content = await self._exchange(scope, body)
        except Unanswered as exc:
            unanswered = exc
            status, headers, content = _error(exc.status, exc.detail)
            violations = [Finding(exc.kind, exc.detail)] if exc.kind else []
        else:
            response_headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in headers}
            if self.recording is not None:
                self.recording.observe(method, path, status, body, content)
            violations = self.checker.check_response(method, path, operation, issues, status, response_headers, content)
            if violations and self.settings.strict:
                status, headers, content = _error(
                    502,
                    "The deployment's answer breaks the contract: " + "; ".join(f"{v.kind}: {v.message}" for v in violations),
                    {"violations": [v.to_json() for v in violations], "upstreamStatus": status},
                )
        notes = scope.get(EXCHANGE_NOTES)
        if isinstance(notes, dict):
            notes["violations"] = [v.to_json() for v in violations]
            notes["requestIssues"] = [i.to_json() for i in issues]
        if unanswered is not None and unanswered.kind is None:  # the proxy's set-up failed: no exchange took place
            if isinstance(notes, dict):
                notes["upstreamError"] = unanswered.detail
            log.warning("%s %s %d, not a contract violation: %s", method, path, status, unanswered.detail)
        else:
            self.violations.record(method, path, status, violations, issues)
        for violation in violations:
            log.warning("%s %s %d violates the contract: %s: %s", method, path, status, violation.kind, violation.message)
        if method == "HEAD":
            content = b""
        else:
            headers = [*headers, (b"content-length", str(len(content)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    async def _exchange(self, scope: Scope, body: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """(status, headers, body) of the deployment's answer; Unanswered (the proxy's 502/504 and why) when none came."""
        target = self.settings.url + scope.get("raw_path", scope["path"].encode()).decode("latin-1")
        if scope.get("query_string"):
            target += "?" + scope["query_string"].decode("latin-1")
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in HOP_BY_HOP]
        if self.settings.authorization is not None:  # the --proxy URL's credentials, as httpx would send them
            headers = [(k, v) for k, v in headers if k.lower() != b"authorization"]
            headers.append((b"authorization", self.settings.authorization.encode("latin-1")))
        try:
            async with asyncio.timeout(self.settings.timeout_s):
                answer = await self.client.request(scope["method"], target, headers=headers, content=body)
        except (TimeoutError, httpx.TimeoutException):
            detail = f"The deployment at {self.settings.url} did not answer within {self.settings.timeout_s:g} s"
            raise Unanswered(504, detail, "deployment.timeout") from None
        except httpx.HTTPError as exc:
            cause = await self._tls_failure(exc)
            if cause is not None:
                raise Unanswered(502, f"Cannot reach the deployment at {self.settings.url}: upstream TLS: {cause}", None) from None
            reason = str(exc) or type(exc).__name__
            raise Unanswered(502, f"Cannot reach the deployment at {self.settings.url}: {reason}", "deployment.unreachable") from None
        kept = [(k.lower(), v) for k, v in answer.headers.raw if k.lower() not in DROPPED_FROM_ANSWERS and not k.lower().startswith(b"access-control-")]
        return answer.status_code, [self._local_location(scope, k, v) for k, v in kept], answer.content

    async def _tls_failure(self, exc: httpx.HTTPError) -> str | None:
        """What went wrong in TLS with an https deployment, in words (session_spec.tls), or None when `exc` is no TLS failure."""
        url = httpx.URL(self.settings.url)
        if url.scheme != "https":
            return None
        tls = self.settings.tls
        cause = tls_cause(exc, url.host, tls.options)
        if cause is None and isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
            # A server that wants a client certificate may hang up after the handshake instead of sending an alert.
            cause = await asyncio.to_thread(closed_after_handshake, url.host, url.port or 443, tls, min(self.settings.timeout_s, 5.0))
        return cause

    def _local_location(self, scope: Scope, name: bytes, value: bytes) -> tuple[bytes, bytes]:
        """A redirect to the deployment itself points back through the proxy."""
        if name != b"location" or not value.decode("latin-1").startswith(self.origin):
            return name, value
        host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
        return name, (f"{scope.get('scheme', 'http')}://{host}" + value.decode("latin-1")[len(self.origin):]).encode("latin-1")

    def _closing_client(self, send: Send) -> Send:
        async def send_closing(message: Message) -> None:
            if message["type"] == "lifespan.shutdown.complete" and self.recording is not None:
                self.recording.write()
            if message["type"] == "lifespan.shutdown.complete" and self._client is not None:
                await self._client.aclose()
                self._client = None
            await send(message)

        return send_closing
