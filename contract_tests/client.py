"""The one HTTP client that talks to the target: a thin `httpx.Client` over a stack of transports.

Every request of the run goes through `ContractClient.request`, and through these layers, outermost
first (each is a transport in `contract_tests.transports`, with its reason there):
- the ownership guard: never PATCH or DELETE a session the run did not create (or reserve as a fresh id);
- read-your-writes: after every acknowledged write the next request reads it back, and a miss is polled
  (bounded) until it shows, so checks read settled states; only writes sent as samples (`sample=True`,
  by the measurements of the quiet phase) are recorded, per write kind, with their visibility window;
- throttling: a gateway's 429 (or 503 to a GET or HEAD) with `Retry-After` is waited out and sent again,
  and the rate is lowered; beyond the budget, `Throttled` (the run is incomplete, not violated);
- the rate limit (`--max-rps`, with bursts);
- counting per contract property (`current_property`: shared set-up is charged to no check) and the log;
- tracking of the sessions the run created and deleted, so `cleanup()` can delete them all at the end;
- transport failures (timeout, reset, refused) become a `TransportFailure` carrying the `curl` line of
  that very request, so it fails only the check that sent it;
- one deadline for the whole exchange (connect, headers and the last byte of the body).

The user's `--header`s are sent on every request and their values are kept out of every rendering.
Cancellation is cooperative: each request asks the run's `CancelToken` before it leaves, and every wait
of ours (rate limit, read-your-writes polling, an answer under way) ends with `Cancelled` once it is set.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from contract_tests.baton import yielded
from contract_tests.cancel import NEVER, CancelToken
from contract_tests.cleanup import SETTLE_BOUND, clean_up
from contract_tests.ledgers import (
    VISIBILITY_BOUND,
    WRITE_KINDS,
    Hygiene,
    KindLedger,
    RequestCounter,
    RequestsBySession,
    ThrottleLedger,
    WriteLedger,
    WriteMiss,
)
from contract_tests.printable import plain_bytes, printf_feed, shell_word
from contract_tests.redaction import REDACTED, Redactor, with_credentials
from contract_tests.sessions import SESSION_PATH, SHARED, SessionBook, as_uuid, backoff, current_property, data_of, session_id_in
from contract_tests.transports import (
    CANCEL,
    CHECK_WRITE,
    DEADLINE,
    JSON_BODY,
    ON_HEADERS,
    SAMPLE,
    WRITE_METHODS,
    Counting,
    Deadline,
    Failures,
    InFlight,
    Network,
    OwnershipGuard,
    RateLimit,
    RateLimiter,
    ReadYourWrites,
    RetrySafe,
    SessionRequests,
    Throttle,
    Tracking,
    TransportFailure,
    UnsafeRequest,
)
from session_spec.credentials import without_credentials
from session_spec.tls import Tls

__all__ = [
    "SESSION_PATH", "SETTLE_BOUND", "SHARED", "VISIBILITY_BOUND", "WRITE_KINDS", "WRITE_METHODS", "ContractClient",
    "Hygiene", "KindLedger", "RateLimiter", "TransportFailure", "UnsafeRequest", "WriteLedger", "WriteMiss", "as_uuid",
    "backoff", "current_property", "data_of", "session_id_in",
]

Wrap = Callable[[httpx.BaseTransport], httpx.BaseTransport]

WRITE_GRACE = 4.0
"""Seconds a write already in flight when the run stops may still take to answer: its answer names the
session cleanup must delete. Below the engine's 5 s grace for running checks, so a loopback write is
always known before its check is abandoned."""


class ContractClient:
    """A small httpx client for one target; thread-safe."""

    def __init__(
        self,
        base_url: str,
        headers: Mapping[str, str] | None = None,
        *,
        max_rps: float = 0.0,
        burst: int = 1,
        timeout: float = 15.0,
        redactor: Redactor | None = None,
        verify_writes: bool = True,
        concurrency: int = 24,
        cancel: CancelToken = NEVER,
        transport: httpx.BaseTransport | None = None,
        tls: Tls | None = None,
        budget: Callable[[], float] = lambda: float("inf"),
    ) -> None:
        # Credentials in the URL become the Basic header httpx would make of them; the URL keeps none.
        bare, with_auth = with_credentials(base_url, headers or {}, "the base URL")
        self.base_url = bare.rstrip("/")
        self.user_headers = with_auth
        self.redact = redactor or Redactor()
        for value in self.user_headers.values():
            self.redact.add(value)
        self.cancel = cancel
        self.tls = tls or Tls.from_options()  # the environment's CA bundle, as httpx and requests honour it
        self.timeout = timeout
        self.verify_writes = verify_writes
        self.concurrency = max(1, concurrency)
        self.limiter = RateLimiter(max_rps, burst)
        self.sessions = SessionBook()
        self.counter = RequestCounter()
        self.writes = WriteLedger()
        self.session_requests = RequestsBySession()
        self.throttling = ThrottleLedger()
        self.base_path = urlsplit(self.base_url).path
        self._local = threading.local()
        base_path = urlsplit(self.base_url).path
        if transport is None:
            # No cap on connections and none on keep-alive: httpcore's pool closes an idle connection it counts
            # as surplus (beyond max_keepalive_connections) or to make room (at max_connections), and it can
            # pick one it has just assigned to a waiting request (httpcore issue #1110): that request then
            # fails with EBADF or hangs until its read timeout (3 false failures in 42 soak runs with caps of
            # 100 and 48). The suite's own threads bound how many connections it opens. An idle connection is
            # dropped after 2 s, before common servers' idle timeouts (uvicorn's and Node's 5 s, nginx's 75 s):
            # with httpx's default of 5 s, equal to uvicorn's, a request written on a connection the server
            # was closing was reset.
            transport = Network(httpx.Limits(max_connections=None, max_keepalive_connections=None, keepalive_expiry=2.0),
                                self.tls.context())
        self.writes_in_flight = InFlight()  # abandoned ones included: cleanup waits for them first
        # The stack, outermost first: each line one layer and its reason (see contract_tests.transports).
        layers: list[Wrap] = [
            lambda inner: OwnershipGuard(inner, self.sessions, base_path),  # never change a session not ours
            lambda inner: SessionRequests(inner, self.session_requests, base_path),  # what each session was sent: replay scripts
            *([lambda inner: ReadYourWrites(inner, self.writes, self._build, self.curl, base_path, cancel)]
              if verify_writes else []),  # the write's read-back goes through the layers below it
            # a gateway's 429 (or 503 to GET/HEAD) with Retry-After: wait as told, send again, slow down
            lambda inner: Throttle(inner, self.limiter, self.throttling, cancel, budget, base_path),
            lambda inner: RateLimit(inner, self.limiter, cancel),  # read-backs are rate-limited too
            lambda inner: Counting(inner, self.counter),  # and counted
            lambda inner: Tracking(inner, self.sessions, base_path),  # what was created and deleted
            lambda inner: Failures(inner, self.curl, base_path),  # no answer: a TransportFailure with its curl
            RetrySafe,  # a GET or HEAD whose connection broke under it is sent once more
            # the whole exchange, not each read; a write in flight at a stop still gets its answer (up to its
            # deadline, at most WRITE_GRACE s): the answer names the session cleanup must delete
            lambda inner: Deadline(inner, timeout, cancel, grace=min(timeout, WRITE_GRACE) if timeout > 0 else WRITE_GRACE,
                                   in_flight=self.writes_in_flight),
        ]
        stack = transport
        for wrap in reversed(layers):
            stack = wrap(stack)
        self.http = httpx.Client(base_url=self.base_url, headers=self.user_headers, transport=stack,
                                 timeout=timeout if timeout > 0 else None)  # 0: no limit (httpx's 0 fails at once)

    # --- what the layers keep --------------------------------------------------------------------

    @property
    def request_count(self) -> int:
        return self.counter.total

    @property
    def requests_by_property(self) -> dict[str, int]:
        return self.counter.by_property

    @property
    def log(self) -> list[str] | None:
        """`PROPERTY METHOD path` of every request, when set to a list (None: not recording)."""
        return self.counter.log

    @log.setter
    def log(self, value: list[str] | None) -> None:
        self.counter.log = value

    @property
    def live(self) -> set[uuid.UUID]:
        return self.sessions.live

    @property
    def deleted(self) -> set[uuid.UUID]:
        return self.sessions.deleted

    @property
    def reserved(self) -> set[uuid.UUID]:
        return self.sessions.reserved

    # --- ownership -------------------------------------------------------------------------------

    def fresh_id(self) -> str:
        """A random uuid4 nobody else can hold, which the run may create, change and delete."""
        return str(self.sessions.reserve())

    def owns(self, sid: uuid.UUID) -> bool:
        return self.sessions.owns(sid)

    def live_sessions_of(self, property_id: str) -> set[uuid.UUID]:
        """The sessions still live that requests charged to `property_id` created (checks run
        concurrently: a check cleans up only its own)."""
        return self.sessions.live_of(property_id)

    def created_count(self) -> int:
        return self.sessions.created_count()

    # --- requests --------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        check_write: bool = True,
        sample: bool = False,
        on_headers: Callable[[], None] | None = None,
    ) -> httpx.Response:
        """Send one request to the target; the answer's `.request` can be rendered with `curl()`.
        `sample`: a write whose read-back is a read-your-writes sample (recorded in `writes`);
        `on_headers`: called once the answer's status line and headers are in (before its body).

        Raises TransportFailure (a ContractViolation) when no complete HTTP answer comes back within the
        deadline, UnsafeRequest before changing a session not ours, and Cancelled once the run stops."""
        self.cancel.check()
        return self._send(method, path, json=json, content=content, headers=headers, params=params,
                          check_write=check_write, sample=sample, on_headers=on_headers)

    def _send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        check_write: bool = True,
        cancel: CancelToken | None = None,
        deadline: float | None = None,
        sample: bool = False,
        on_headers: Callable[[], None] | None = None,
    ) -> httpx.Response:
        extensions: dict[str, Any] = {CHECK_WRITE: check_write or sample, JSON_BODY: json, SAMPLE: sample}
        if on_headers is not None:
            extensions[ON_HEADERS] = on_headers
        if cancel is not None:
            extensions[CANCEL] = cancel
        if deadline is not None:
            extensions[DEADLINE] = deadline
        kwargs: dict[str, Any] = {"headers": dict(headers or {}), "params": params, "extensions": extensions}
        if json is not None:
            kwargs["json"] = json
        elif content is not None:
            kwargs["content"] = content
        request = self.http.build_request(method.upper(), path, **kwargs)
        with yielded():  # a wait on the target: the check's group baton is handed on meanwhile
            response = self.http.send(request)
        self._local.last = response
        return response

    def _build(self, method: str, path: str) -> httpx.Request:
        return self.http.build_request(method, path)

    @property
    def last_response(self) -> httpx.Response | None:
        """The last answer this thread received (for failure reports)."""
        return getattr(self._local, "last", None)

    def forget_last(self) -> None:
        self._local.last = None

    def create(self) -> httpx.Response:
        return self.request("POST", SESSION_PATH)

    def create_with_id(self, sid: str, *, check_write: bool = True) -> httpx.Response:
        return self.request("POST", f"{SESSION_PATH}/{sid}", check_write=check_write)

    def get(self, sid: str) -> httpx.Response:
        return self.request("GET", f"{SESSION_PATH}/{sid}")

    def head(self, sid: str) -> httpx.Response:
        return self.request("HEAD", f"{SESSION_PATH}/{sid}")

    def patch(self, sid: str, data: Any) -> httpx.Response:
        return self.request("PATCH", f"{SESSION_PATH}/{sid}", json={"data": data})

    def delete(self, sid: str, *, check_write: bool = True) -> httpx.Response:
        return self.request("DELETE", f"{SESSION_PATH}/{sid}", check_write=check_write)

    # --- rendering -------------------------------------------------------------------------------

    def curl(self, request: httpx.Request | None) -> str:
        """A `curl` command reproducing `request`, shell-safe: the user's headers by name only (their values
        `<redacted>`), the URL without credentials, the body as sent. A body that is not plain text
        (control bytes, NUL, invalid UTF-8) is fed on stdin by `printf`."""
        if request is None:
            return "(no request)"
        parts = ["curl", "-i"]
        if request.method == "HEAD":
            parts.append("-I")
        elif request.method != "GET":
            parts += ["-X", request.method]
        parts.append(shell_word(without_credentials(str(request.url))))
        for name in self.user_headers:
            parts += ["-H", shell_word(f"{name}: {REDACTED}")]
        body = request.content
        if body:
            content_type = request.headers.get("content-type")
            if content_type:
                parts += ["-H", shell_word(f"Content-Type: {content_type}")]
            if not plain_bytes(body):
                return printf_feed(body) + " | " + " ".join([*parts, "--data-binary", "@-"])
            parts += ["--data-raw", shell_word(body)]
        return " ".join(parts)

    # --- cleanup ---------------------------------------------------------------------------------

    def cleanup(self, workers: int | None = None, *, timeout: float = 30.0, abort: CancelToken = NEVER) -> Hygiene:
        """Delete every session the run created and still holds, `workers` at a time (default: the
        client's concurrency; `--max-rps` still applies), on a cancel token of its own: it works after
        the run's token was cancelled, sends nothing after `timeout` seconds, and stops at once when
        `abort` is cancelled (a second Ctrl-C). A session counts as gone only once a HEAD answers 404
        after our DELETE (re-checked with back-off for up to SETTLE_BOUND s: real deployments may commit
        a DELETE after answering it); `left_behind` lists every other id the run created or may have."""

        def send(method: str, path: str, *, cancel: CancelToken, deadline: float) -> httpx.Response:
            return self._send(method, path, check_write=False, cancel=cancel, deadline=deadline)

        return clean_up(self.sessions, send, workers=workers or self.concurrency, timeout=timeout, abort=abort)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> ContractClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
