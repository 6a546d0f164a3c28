"""The one HTTP client that talks to the target: headers, rate limit, ownership and write checks.

Every request of the run goes through `ContractClient.request`, which
- adds the user's `--header`s and keeps their values out of every rendering (`curl`, reports);
- waits as needed to stay under `--max-rps`;
- refuses to PATCH or DELETE a session the run did not create (or reserve as a fresh random id);
- records every session the run created, so `cleanup()` can delete them all at the end;
- checks read-your-writes after EVERY acknowledged write, per write kind (create, create-with-id,
  PATCH, DELETE): the next request must see it. A write it misses is polled (bounded) until it shows,
  so the report can give the size of the visibility window (median and maximum, in ms);
- counts requests per contract property (the `current_property` context variable), so shared set-up
  (canaries, cleanup) is not charged to any check;
- turns a transport failure (timeout, reset, refused) into a `TransportFailure` carrying the `curl`
  line of that very request, so it fails only the check that sent it.
"""

from __future__ import annotations

import contextvars
import statistics
import threading
import time
import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from contract_tests.cancel import CancelToken
from contract_tests.expect import ContractViolation
from contract_tests.printable import plain_bytes, printf_feed, shell_word
from contract_tests.redaction import REDACTED, Redactor

SESSION_PATH = "/api/v1/session"
WRITE_METHODS = {"POST", "PATCH", "DELETE"}
SHARED = ""  # the property key of requests no check made (canaries, cleanup)
# The property each request is charged to; set by the runner around each check.
current_property: contextvars.ContextVar[str] = contextvars.ContextVar("current_property", default=SHARED)

# Write kinds and the property that reports their read-your-writes tally.
WRITE_KINDS: dict[str, str] = {
    "create": "consistency.read-your-writes.create",
    "create-with-id": "consistency.read-your-writes.create-with-id",
    "patch": "consistency.read-your-writes.patch",
    "delete": "consistency.read-your-writes.delete",
}
VISIBILITY_BOUND = 3.0  # seconds a missed write is polled for before it counts as never visible
SETTLE_BOUND = 4.0  # seconds cleanup re-checks a deleted session before calling it left behind


class UnsafeRequest(Exception):
    """The run was about to change a session it did not create."""


class TransportFailure(ContractViolation):
    """The target gave no HTTP answer (timeout, reset, refused); `reproduction` is that request."""


def session_id_in(path: str) -> str | None:
    """The raw `{session_id}` segment of a session path, or None for other paths."""
    prefix = SESSION_PATH + "/"
    if not path.startswith(prefix):
        return None
    return path[len(prefix):]


def as_uuid(raw: str | None) -> uuid.UUID | None:
    """The UUID a raw id spells (any spelling Python accepts), or None."""
    try:
        return uuid.UUID(raw)
    except (ValueError, TypeError, AttributeError):
        return None


def backoff(bound: float, first: float = 0.002, factor: float = 2.0, cap: float = 0.25) -> list[float]:
    """Sleep lengths (s) of a bounded exponential back-off whose sum stays within `bound`."""
    delays: list[float] = []
    delay, total = first, 0.0
    while total + delay <= bound:
        delays.append(delay)
        total += delay
        delay = min(delay * factor, cap)
    return delays


class RateLimiter:
    """A token bucket: on average at most `max_rps` request starts per second across all threads,
    with bursts of up to `burst` (so a concurrency check can still send its requests together)."""

    def __init__(self, max_rps: float, burst: int = 1) -> None:
        self.rate = max_rps
        self.burst = max(1, burst)
        self._tokens = float(self.burst)
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def wait(self) -> None:
        if self.rate <= 0:
            return
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate) - 1
            self._last = now
            delay = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if delay > 0:
            time.sleep(delay)


@dataclass
class WriteMiss:
    """One acknowledged write that the very next request did not see."""

    write: str
    observed: str
    reproduction: str
    window_ms: float | None  # time from the write's answer until it showed; None: not within the bound


@dataclass
class KindLedger:
    """Read-your-writes of one write kind: how many were checked, which were late and by how much."""

    checked: int = 0
    misses: list[WriteMiss] = field(default_factory=list)

    def rate(self) -> float:
        return len(self.misses) / self.checked if self.checked else 0.0

    def windows(self) -> list[float]:
        return [m.window_ms for m in self.misses if m.window_ms is not None]

    def summary(self) -> str:
        """`k of N (r %) not visible at once; visible after median M ms, max X ms[, J never within B s]`."""
        text = f"{len(self.misses)} of {self.checked} ({100 * self.rate():.1f} %) not visible at once"
        windows = self.windows()
        if windows:
            text += f"; visible after median {statistics.median(windows):.1f} ms, max {max(windows):.1f} ms"
        never = len(self.misses) - len(windows)
        if never:
            text += f"; {never} not visible within {VISIBILITY_BOUND:g} s"
        return text


@dataclass
class WriteLedger:
    """Read-your-writes per write kind (see WRITE_KINDS)."""

    kinds: dict[str, KindLedger] = field(default_factory=lambda: {kind: KindLedger() for kind in WRITE_KINDS})

    @property
    def checked(self) -> int:
        return sum(k.checked for k in self.kinds.values())

    @property
    def misses(self) -> list[WriteMiss]:
        return [m for k in self.kinds.values() for m in k.misses]


@dataclass
class Hygiene:
    """What the run left on the target: sessions it created, deleted, and still found afterwards."""

    created: int = 0
    deleted: int = 0
    left_behind: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # cleanup requests that got no answer

    def summary(self) -> str:
        text = f"{self.created} sessions created, {len(self.left_behind)} left behind"
        if self.left_behind:
            text += f" ({', '.join(self.left_behind[:5])}{', ...' if len(self.left_behind) > 5 else ''})"
        return text


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
        cancel: CancelToken | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.user_headers = dict(headers or {})
        self.redact = redactor or Redactor()
        for value in self.user_headers.values():
            self.redact.add(value)
        self.limiter = RateLimiter(max_rps, burst)
        self.verify_writes = verify_writes
        self.concurrency = max(1, concurrency)
        # Keep connections alive for every parallel request (the pool's threads times --concurrency's bursts): with
        # httpx's default of 20 kept alive, 24-thread runs closed and reopened connections on every request, and a busy
        # machine then saw EBADF.
        limits = httpx.Limits(max_connections=max(100, 4 * self.concurrency, burst), max_keepalive_connections=max(20, 2 * self.concurrency, burst))
        self.http = httpx.Client(base_url=self.base_url, headers=self.user_headers, timeout=timeout, limits=limits, transport=transport)
        self.request_count = 0
        self.requests_by_property: dict[str, int] = {}
        self.writes = WriteLedger()
        self.live: set[uuid.UUID] = set()
        self.deleted: set[uuid.UUID] = set()
        self.reserved: set[uuid.UUID] = set()
        self.creator: dict[uuid.UUID, str] = {}  # the property whose request created each session
        self.log: list[str] | None = None  # "PROPERTY METHOD path" of every request, when recording
        self.cancel = cancel or CancelToken()  # set when the run stops: requests raise Cancelled
        self._cleaning = threading.local()
        self._lock = threading.Lock()
        self._local = threading.local()
        # Sends the HEAD of a read-back while the GET is under way (one round trip, not two).
        self._pairs = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="contract-readback")

    # --- ownership ---------------------------------------------------------------------------

    def fresh_id(self) -> str:
        """A random uuid4 nobody else can hold, which the run may create, change and delete."""
        sid = uuid.uuid4()
        with self._lock:
            self.reserved.add(sid)
        return str(sid)

    def owns(self, sid: uuid.UUID) -> bool:
        with self._lock:
            return sid in self.live or sid in self.deleted or sid in self.reserved

    def live_sessions_of(self, property_id: str) -> set[uuid.UUID]:
        """The sessions still live that requests charged to `property_id` created (checks run
        concurrently: a check cleans up only its own)."""
        with self._lock:
            return {sid for sid in self.live if self.creator.get(sid) == property_id}

    def created_count(self) -> int:
        with self._lock:
            return len(self.live) + len(self.deleted)

    def _guard(self, method: str, path: str) -> None:
        raw = session_id_in(path)
        if method not in {"PATCH", "DELETE"} or raw is None:
            return
        sid = as_uuid(raw)
        if sid is not None and not self.owns(sid):
            raise UnsafeRequest(f"refusing {method} {path}: this run did not create that session")

    def _track(self, method: str, path: str, response: httpx.Response) -> None:
        raw = session_id_in(path)
        if method == "POST" and 200 <= response.status_code < 300:
            sid = as_uuid(raw) if raw is not None else None
            if raw is None:
                try:
                    sid = as_uuid(response.json().get("sessionId"))
                except (ValueError, AttributeError):
                    sid = None
            if sid is not None:
                with self._lock:
                    self.live.add(sid)
                    self.deleted.discard(sid)
                    self.creator[sid] = current_property.get()
        elif method == "DELETE" and raw is not None and 200 <= response.status_code < 300:
            sid = as_uuid(raw)
            if sid is not None:
                with self._lock:
                    self.live.discard(sid)
                    self.deleted.add(sid)

    # --- requests ----------------------------------------------------------------------------

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
    ) -> httpx.Response:
        """Send one request to the target; the answer's `.request` can be rendered with `curl()`.

        Raises TransportFailure (a ContractViolation) when no HTTP answer comes back."""
        method = method.upper()
        if getattr(self._cleaning, "abort", None) is not None:
            self._cleaning.abort.check()
        else:
            self.cancel.check()
        self._guard(method, path)
        self.limiter.wait()
        kwargs: dict[str, Any] = {"headers": dict(headers or {}), "params": params}
        if json is not None:
            kwargs["json"] = json
        elif content is not None:
            kwargs["content"] = content
        outgoing = self.http.build_request(method, path, **kwargs)
        charged = current_property.get()
        with self._lock:
            self.request_count += 1
            self.requests_by_property[charged] = self.requests_by_property.get(charged, 0) + 1
            if self.log is not None:
                self.log.append(f"{charged or '(shared)'} {method} {outgoing.url.raw_path.decode('ascii', 'replace')}")
        try:
            response = self.http.send(outgoing)
        except httpx.TransportError as exc:
            reason = str(exc).splitlines()[0] if str(exc) else ""
            raise TransportFailure(
                f"{method} {path}: no answer ({type(exc).__name__}{': ' + reason if reason else ''})",
                reproduction=self.curl(outgoing),
            ) from None
        self._local.last = response
        self._track(method, path, response)
        if check_write and self.verify_writes and method in WRITE_METHODS and 200 <= response.status_code < 300:
            self._check_visible(method, path, response, json)
            self._local.last = response
        return response

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

    # --- read-your-writes -------------------------------------------------------------------

    def _check_visible(self, method: str, path: str, response: httpx.Response, body: Any) -> None:
        """Right after an acknowledged write, GET (and HEAD) must show it; if they do not, poll with
        back-off until they do (at most VISIBILITY_BOUND s) and record how long that took."""
        answered = time.monotonic()
        raw = session_id_in(path)
        kind = "create-with-id"
        if method == "POST" and raw is None:
            kind = "create"
            try:
                raw = str(response.json()["sessionId"])
            except (ValueError, KeyError, TypeError):
                return
        elif method == "PATCH":
            kind = "patch"
            if not (isinstance(body, dict) and isinstance(body.get("data"), dict)):
                return
        elif method == "DELETE":
            kind = "delete"
        sid = as_uuid(raw)
        if sid is None:
            return
        target = f"{SESSION_PATH}/{sid}"

        def observe() -> tuple[str | None, httpx.Response]:
            if kind == "patch":
                get = self.request("GET", target, check_write=False)
                if get.status_code != 200:
                    return f"GET answered {get.status_code} right after PATCH answered {response.status_code}", get
                data = data_of(get)
                if data is not None and any(data.get(k) != v for k, v in body["data"].items()):
                    return "GET right after PATCH does not show the patched keys", get
                return None, get
            pending_head = self._pairs.submit(contextvars.copy_context().run, self.request, "HEAD", target, check_write=False)
            get = self.request("GET", target, check_write=False)
            head = pending_head.result()
            expected = (404, 404) if kind == "delete" else (200, 204)
            if (get.status_code, head.status_code) != expected:
                what = "DELETE" if kind == "delete" else kind
                return f"GET answered {get.status_code} and HEAD {head.status_code} right after {what} answered {response.status_code}", get
            return None, get

        observed, first = observe()
        miss: WriteMiss | None = None
        if observed is not None:
            window: float | None = None
            for delay in backoff(VISIBILITY_BOUND):
                time.sleep(delay)
                again, _ = observe()
                if again is None:
                    window = (time.monotonic() - answered) * 1000
                    break
            miss = WriteMiss(f"{method} {target}", observed, self.curl(first.request), window)
        with self._lock:
            ledger = self.writes.kinds[kind]
            ledger.checked += 1
            if miss is not None:
                ledger.misses.append(miss)

    # --- rendering and cleanup --------------------------------------------------------------

    def curl(self, request: httpx.Request | None) -> str:
        """A `curl` command reproducing `request`, shell-safe, with every header value redacted. A body
        that is not plain text (control bytes, NUL, invalid UTF-8) is fed on stdin by `printf`."""
        if request is None:
            return "(no request)"
        parts = ["curl", "-i"]
        if request.method == "HEAD":
            parts.append("-I")
        elif request.method != "GET":
            parts += ["-X", request.method]
        parts.append(shell_word(self.redact(str(request.url))))
        for name in self.user_headers:
            parts += ["-H", shell_word(f"{name}: {REDACTED}")]
        body = request.content
        if body:
            content_type = request.headers.get("content-type")
            if content_type:
                parts += ["-H", shell_word(f"Content-Type: {content_type}")]
            body = self._redact_bytes(body)
            if not plain_bytes(body):
                return printf_feed(body) + " | " + " ".join([*parts, "--data-binary", "@-"])
            parts += ["--data-raw", shell_word(body)]
        return " ".join(parts)

    def _redact_bytes(self, body: bytes) -> bytes:
        text = body.decode("utf-8", "surrogateescape")
        return self.redact(text).encode("utf-8", "surrogateescape")

    def cleanup(self, workers: int | None = None, *, timeout: float = 30.0, abort: CancelToken | None = None) -> Hygiene:
        """Delete every session the run created and still holds, `workers` at a time (default: the
        client's concurrency; `--max-rps` still applies). A session counts as left behind only if it
        still exists after its deletion had time to settle: re-checked with back-off for up to
        SETTLE_BOUND s, because real deployments may commit a DELETE after answering it."""
        with self._lock:
            pending = sorted(self.live, key=str)
        hygiene = Hygiene(created=self.created_count())
        # Pool threads start with an empty context: their requests are charged to SHARED.
        with ThreadPoolExecutor(max_workers=max(1, min(workers or self.concurrency, len(pending) or 1))) as pool:
            outcomes = list(pool.map(lambda sid: self._delete_and_settle(sid, abort), pending))
        for sid, (deleted, gone, error) in zip(pending, outcomes, strict=False):
            hygiene.deleted += deleted
            if error:
                hygiene.errors.append(error)
            if not gone:
                hygiene.left_behind.append(str(sid))
        return hygiene

    def _delete_and_settle(self, sid: uuid.UUID, abort: CancelToken | None = None) -> tuple[int, bool, str]:
        """(1 if this DELETE answered 2xx, whether the session is gone, transport error text)."""
        self._cleaning.abort = abort or CancelToken()
        path = f"{SESSION_PATH}/{sid}"
        try:
            response = self.request("DELETE", path, check_write=False)
            deleted = int(200 <= response.status_code < 300)
            if not deleted and response.status_code != 404:
                return 0, False, ""
            for delay in [0.0, *backoff(SETTLE_BOUND, first=0.01, cap=0.5)]:
                time.sleep(delay)
                if self.request("HEAD", path, check_write=False).status_code == 404:
                    with self._lock:
                        self.live.discard(sid)
                        self.deleted.add(sid)
                    return deleted, True, ""
            return deleted, False, ""
        except (ContractViolation, httpx.HTTPError) as exc:
            return 0, False, str(exc)

    def close(self) -> None:
        self._pairs.shutdown(wait=True)
        self.http.close()

    def __enter__(self) -> ContractClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def data_of(response: httpx.Response) -> dict[str, Any] | None:
    """The `data` object of a GET answer, or None if it carries none."""
    try:
        data = response.json().get("data")
    except (ValueError, AttributeError):
        return None
    return data if isinstance(data, dict) else None
