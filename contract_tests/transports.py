"""The layers of the suite's client, each an `httpx.BaseTransport` wrapping the next, each with one job.

`ContractClient` stacks them, outermost first (see `contract_tests.client`):

    OwnershipGuard      refuse PATCH/DELETE of a session the run did not create or reserve
    ReadYourWrites      after an acknowledged write, read it back (through the layers below) and tally
    Throttle            a gateway's 429 (or 503 to GET/HEAD) with Retry-After: wait as told, send again, slow down
    RateLimit           keep request starts under --max-rps (the wait honours the cancel token)
    Counting            charge the request to the current property; the request log
    Tracking            learn from answers which sessions the run created and deleted
    Failures            no HTTP answer -> `TransportFailure` carrying that request's curl line
    Deadline            one deadline for the whole exchange (connect, headers, last byte); cancellation
    Network             `httpx.HTTPTransport` in an `httpx.Client` (or any transport: `httpx.MockTransport`)

A request carries its own cancel token and an optional absolute deadline in `request.extensions`
(`CANCEL`, `DEADLINE`), so cleanup can send on a token of its own after the run's token was cancelled.
Nothing here throws into another thread: each layer asks the token at its own waits.
"""

from __future__ import annotations

import email.utils
import ssl
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from contract_tests.cancel import NEVER, Cancelled, CancelToken
from contract_tests.daemons import HELPERS, Beside
from contract_tests.expect import ContractViolation
from contract_tests.ledgers import VISIBILITY_BOUND, RequestCounter, RequestsBySession, ThrottleLedger, WriteLedger, WriteMiss
from contract_tests.scripts import SentRequest
from contract_tests.sessions import (
    SESSION_PATH,
    SessionBook,
    api_path,
    as_uuid,
    backoff,
    current_property,
    data_of,
    session_id_in,
)

CANCEL = "contract.cancel"  # request.extensions: the CancelToken this request honours
DEADLINE = "contract.deadline"  # request.extensions: an absolute time.monotonic() the exchange must end by
CHECK_WRITE = "contract.check_write"  # request.extensions: False skips the read-your-writes read-back
JSON_BODY = "contract.json"  # request.extensions: the object sent as `json=` (read-your-writes compares PATCHes to it)
SENT = "contract.sent"  # request.extensions: set once the request was handed to the network
SAMPLE = "contract.sample"  # request.extensions: True: this write is a read-your-writes sample (its read-back is recorded)
PAIRED = "contract.paired"  # request.extensions: True: the read-back of a sample, paced with its write (no rate-limit wait)
ON_HEADERS = "contract.on_headers"  # request.extensions: a callable the network calls once the status line and headers are in
WRITE_METHODS = {"POST", "PATCH", "DELETE"}
THROTTLED = 429  # Too Many Requests: a read-back answered so tells nothing about the write
THROTTLED_TEXT = "throttled"

Render = Callable[[httpx.Request], str]


class UnsafeRequest(Exception):
    """The run was about to change a session it did not create."""


class TransportFailure(ContractViolation):
    """The target gave no HTTP answer (timeout, reset, refused); `reproduction` is that request."""


def token_of(request: httpx.Request, default: CancelToken) -> CancelToken:
    token = request.extensions.get(CANCEL)
    return token if isinstance(token, CancelToken) else default


def peek_json(response: httpx.Response) -> Any:
    """The JSON body of an answer on its way up the stack, read from a copy so the answer's own stream
    is left for the `httpx.Client` on top (which sets `.elapsed`, read by Schemathesis, only when it
    reads that stream itself). Raises ValueError for a body that is not JSON."""
    stream = response.stream
    if isinstance(stream, httpx.ByteStream):
        copy = httpx.Response(response.status_code, headers=response.headers, stream=httpx.ByteStream(b"".join(stream)))
        copy.read()
        return copy.json()
    response.read()
    return response.json()


class Layer(httpx.BaseTransport):
    """A transport that wraps another; closing it closes the one inside."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def close(self) -> None:
        self.inner.close()


# --- rate limit ----------------------------------------------------------------------------------


class RateLimiter:
    """A token bucket: on average at most `max_rps` request starts per second across all threads,
    with bursts of up to `burst` (so a concurrency check can still send its requests together).
    `max_rps` 0 is no limit until a gateway throttles the run: `throttled(delay)` then holds every
    start for `delay` s and lowers the rate (at most once a second) below what was being sent."""

    SLOWER = 0.7  # a throttled run's new rate, as a share of the rate it was sending at
    MIN_RATE = 0.5

    def __init__(self, max_rps: float, burst: int = 1) -> None:
        self.rate = max_rps
        self.burst = max(1, burst)
        self._tokens = float(self.burst)
        self._last = time.monotonic()
        self._lock = threading.Lock()
        self._hold_until = 0.0
        self._lowered_at = -1e9
        self._starts: deque[float] = deque(maxlen=10_000)  # recent start times, to know the rate sent at

    def wait(self, cancel: CancelToken = NEVER) -> None:
        """Take one start; sleep (on `cancel`, so a stop ends the wait at once) until it is due."""
        with self._lock:
            now = time.monotonic()
            delay = max(self._hold_until - now, 0.0)
            if self.rate > 0:
                self._tokens = min(self.burst, self._tokens + max(now - self._last, 0.0) * self.rate) - 1
                self._last = max(self._last, now)
                delay = max(delay, -self._tokens / self.rate if self._tokens < 0 else 0.0)
            self._starts.append(now + delay)
        if delay > 0:
            cancel.sleep(delay)

    def throttled(self, delay: float) -> None:
        """A gateway said "wait `delay` s": hold every start until then, and send slower afterwards."""
        with self._lock:
            now = time.monotonic()
            self._hold_until = max(self._hold_until, now + delay)
            if now - self._lowered_at < 1.0:
                return  # one lowering per second: parallel requests throttled together lower it once
            self._lowered_at = now
            sent = sum(1 for start in self._starts if now - 1.0 <= start <= now) or 1
            current = min(self.rate, sent) if self.rate > 0 else float(sent)
            self.rate = max(self.MIN_RATE, current * self.SLOWER)
            # When the hold ends, one start is due at once and the next at the new rate: no debt of the
            # starts that were throttled, and no tokens piled up while everyone was held.
            self._tokens = 1.0
            self._last = max(self._last, now + delay)


class RateLimit(Layer):
    """Keeps request starts under `limiter`'s rate; the wait raises `Cancelled` as soon as the
    request's token is cancelled, and the token is asked once more right before the request leaves."""

    def __init__(self, inner: httpx.BaseTransport, limiter: RateLimiter, cancel: CancelToken = NEVER) -> None:
        super().__init__(inner)
        self.limiter = limiter
        self.cancel = cancel

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        token = token_of(request, self.cancel)
        token.check()
        if not request.extensions.get(PAIRED):  # a sample's read-back leaves at once: the pair is paced as one request
            self.limiter.wait(token)
        token.check()
        return self.inner.handle_request(request)


# --- throttling gateways --------------------------------------------------------------------------


THROTTLE_PATIENCE = 120.0
"""Seconds of `Retry-After` one request may be told to wait in all before the run gives up on it."""


class Throttled(Cancelled):
    """A gateway throttled a request beyond what the run can wait (its budget, the request's deadline,
    THROTTLE_PATIENCE): the check that sent it is not checked, and the run is incomplete for that reason.
    A `Cancelled`, so it passes through Hypothesis, Schemathesis and every `except Exception` untouched."""


def retry_after(response: httpx.Response, now: datetime | None = None) -> float | None:
    """The seconds a `Retry-After` header asks for (RFC 9110 §10.2.3: delay-seconds or an HTTP-date, a
    date in the past meaning 0), or None without a valid one."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


def gateway_wait(request: httpx.Request, response: httpx.Response) -> float | None:
    """How long to wait before sending `request` again, when `response` is a gateway's throttling rather than
    the API's answer: a 429 with `Retry-After` (RFC 6585 §4: the request was not processed), or a 503 with
    `Retry-After` to a GET or HEAD (safe to send again). A write answered 503 is the API's answer (the
    contract documents no 503): None, and the check reports it."""
    if response.status_code == 429 or (response.status_code == 503 and request.method in ("GET", "HEAD")):
        return retry_after(response)
    return None


class Throttle(Layer):
    """Waits as a throttling gateway says and sends the request again: `Retry-After` on a 429 (any method:
    it was not processed) or on a 503 to a GET or HEAD. Every start is held meanwhile and the rate is
    lowered (`RateLimiter.throttled`); the retry goes through the rate limit below. A sample's read-back
    (`PAIRED`) is not sent again: its 429 is its answer, and the sample is discarded. A wait longer than
    what is left (`budget()`, the request's deadline, THROTTLE_PATIENCE in all) raises `Throttled`."""

    def __init__(self, inner: httpx.BaseTransport, limiter: RateLimiter, ledger: ThrottleLedger, cancel: CancelToken = NEVER,
                 budget: Callable[[], float] = lambda: float("inf"), base_path: str = "") -> None:
        super().__init__(inner)
        self.limiter = limiter
        self.ledger = ledger
        self.cancel = cancel
        self.budget = budget
        self.base_path = base_path

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        told = 0.0
        while True:
            response = self.inner.handle_request(request)
            delay = gateway_wait(request, response)
            if delay is None:
                return response
            now = time.monotonic()
            deadline = request.extensions.get(DEADLINE)
            room = {"the time budget": self.budget(), f"{THROTTLE_PATIENCE:g} s of waiting for one request": THROTTLE_PATIENCE - told}
            if isinstance(deadline, float | int):
                room["the request's deadline"] = float(deadline) - now
            bound, left = min(room.items(), key=lambda item: item[1])
            if delay > left:
                reason = (f"{request.method} {api_path(request.url, self.base_path)} answered {response.status_code} "
                          f"with Retry-After {delay:.0f} s, beyond {bound}")
                self.ledger.give_up(reason)
                raise Throttled(f"throttled beyond the budget: {reason}")
            self.ledger.record(now, delay)
            self.limiter.throttled(delay)  # the retry waits in the rate limit below, with everyone else
            if request.extensions.get(PAIRED):
                # A sample's read-back skips the rate limit (it leaves the moment its write is answered), so
                # sending it again would not wait out the hold: each retry would be throttled at once, until
                # THROTTLE_PATIENCE is used up. Answered as it is, the sample is discarded and taken again.
                return response
            response.close()
            told += delay
            token_of(request, self.cancel).check()


# --- ownership -----------------------------------------------------------------------------------


class OwnershipGuard(Layer):
    """Refuses (raises `UnsafeRequest`, sends nothing) a PATCH or DELETE of a session id the run did not
    create or reserve: the suite may run against a shared deployment whose other sessions are not ours."""

    def __init__(self, inner: httpx.BaseTransport, book: SessionBook, base_path: str = "") -> None:
        super().__init__(inner)
        self.book = book
        self.base_path = base_path

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method in {"PATCH", "DELETE"}:
            path = api_path(request.url, self.base_path)
            sid = as_uuid(session_id_in(path))
            if sid is not None and not self.book.owns(sid):
                raise UnsafeRequest(f"refusing {request.method} {path}: this run did not create that session")
        return self.inner.handle_request(request)


# --- what each session was sent ------------------------------------------------------------------


class SessionRequests(Layer):
    """Keeps, per session id, the requests sent on it and their statuses (a create's id comes from its
    answer), charged to the property that sent them. It sits above the read-your-writes layer, so the
    client's own read-backs are not kept: a failure's replay script is the check's requests alone."""

    def __init__(self, inner: httpx.BaseTransport, book: RequestsBySession, base_path: str = "") -> None:
        super().__init__(inner)
        self.book = book
        self.base_path = base_path.rstrip("/")

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        path = api_path(request.url, self.base_path)
        sid = as_uuid(session_id_in(path))
        if sid is None and request.method == "POST" and path == SESSION_PATH and 200 <= response.status_code < 300:
            try:
                sid = as_uuid(str(peek_json(response).get("sessionId")))
            except (ValueError, AttributeError):
                sid = None
        if sid is not None:
            raw = request.url.raw_path.decode("ascii", "replace")
            if self.base_path and raw.startswith(self.base_path + "/"):
                raw = raw[len(self.base_path):]
            try:
                body = request.content
            except httpx.RequestNotRead:
                body = b""
            self.book.record(sid, SentRequest(request.method, raw, body, request.headers.get("content-type"),
                                              response.status_code, current_property.get()))
        return response


# --- counting and the request log ----------------------------------------------------------------


class Counting(Layer):
    """Charges each request to the contract property running (`current_property`; `SHARED` for canaries
    and cleanup) and, when the counter keeps a log, adds `PROPERTY METHOD path` (no header, no host:
    nothing secret stands in it)."""

    def __init__(self, inner: httpx.BaseTransport, counter: RequestCounter) -> None:
        super().__init__(inner)
        self.counter = counter

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        charged = current_property.get()
        line = f"{charged or '(shared)'} {request.method} {request.url.raw_path.decode('ascii', 'replace')}"
        self.counter.count(charged, line)
        return self.inner.handle_request(request)


# --- tracking ------------------------------------------------------------------------------------


class Tracking(Layer):
    """Learns from answers which sessions the run created (a 2xx POST: the id from the path, or the
    201 body's `sessionId`) and deleted (a 2xx DELETE), for cleanup and the ownership guard. A create
    that left but got no answer is noted too: with its id it is checked by cleanup, without one it is
    counted as unknown. An id a create and a DELETE wrote at once is left to cleanup to look at (see
    `SessionBook`): which of the two the target made last cannot be told from here."""

    def __init__(self, inner: httpx.BaseTransport, book: SessionBook, base_path: str = "") -> None:
        super().__init__(inner)
        self.book = book
        self.base_path = base_path

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = api_path(request.url, self.base_path)
        raw = session_id_in(path)
        sid = as_uuid(raw)
        is_create = request.method == "POST" and (path == SESSION_PATH or sid is not None)
        if sid is not None and request.method in WRITE_METHODS:
            self.book.begin_write(sid, request.method)
            try:
                return self._handle(request, sid, is_create, raw)
            finally:
                self.book.end_write(sid, request.method)
        return self._handle(request, sid, is_create, raw)

    def _handle(self, request: httpx.Request, sid: uuid.UUID | None, is_create: bool, raw: str | None) -> httpx.Response:
        try:
            response = self.inner.handle_request(request)
        except BaseException:
            if is_create and request.extensions.get(SENT):
                self.book.unanswered_create(sid)
            raise
        if not 200 <= response.status_code < 300:
            return response
        if is_create:
            if raw is None:
                try:
                    sid = as_uuid(peek_json(response).get("sessionId"))
                except (ValueError, AttributeError):
                    sid = None
            if sid is not None:
                self.book.created(sid, current_property.get())
        elif request.method == "DELETE" and sid is not None:
            self.book.gone(sid)
        return response


# --- read-your-writes ----------------------------------------------------------------------------


class ReadYourWrites(Layer):
    """After every acknowledged write (create, create-with-id, PATCH, DELETE) the next request must see it:
    GET (and, beside it, HEAD) it at once through the layers below (counted, never re-checked). A write
    it misses is polled with back-off (at most VISIBILITY_BOUND s, on the request's cancel token) until
    it shows, so the checks that wrote read a settled state. Only a write marked as a sample (`SAMPLE`,
    sent by the read-your-writes measurements in their quiet phase) is recorded in the ledger, with
    its window: a read-back slowed by the rest of the run's load would hide brief faults. A sample's
    read-backs are paced with it (`PAIRED`: no rate-limit wait between the write and its reads).
    `build(method, path)` makes a
    request with the client's base URL and headers; `render` makes the curl line of a miss."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        ledger: WriteLedger,
        build: Callable[[str, str], httpx.Request],
        render: Render,
        base_path: str = "",
        cancel: CancelToken = NEVER,
    ) -> None:
        super().__init__(inner)
        self.ledger = ledger
        self.build = build
        self.render = render
        self.base_path = base_path
        self.cancel = cancel

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if (request.extensions.get(CHECK_WRITE, True) and request.method in WRITE_METHODS
                and 200 <= response.status_code < 300):
            self._check_visible(request, response)
        return response

    def _read(self, method: str, path: str, write: httpx.Request) -> httpx.Response:
        request = self.build(method, path)
        for key in (CANCEL, DEADLINE):
            if key in write.extensions:
                request.extensions[key] = write.extensions[key]
        request.extensions[CHECK_WRITE] = False
        if write.extensions.get(SAMPLE):
            request.extensions[PAIRED] = True
        response = self.inner.handle_request(request)
        response.request = request  # (a transport's answer may not carry it; the miss's curl line needs it)
        response.read()
        return response

    def _check_visible(self, write: httpx.Request, response: httpx.Response) -> None:
        answered = time.monotonic()
        method = write.method
        raw = session_id_in(api_path(write.url, self.base_path))
        body: Any = None
        kind = "create-with-id"
        if method == "POST" and raw is None:
            kind = "create"
            try:
                raw = str(peek_json(response)["sessionId"])
            except (ValueError, KeyError, TypeError):
                return
        elif method == "PATCH":
            kind = "patch"
            body = write.extensions.get(JSON_BODY)
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
                get = self._read("GET", target, write)
                if get.status_code == THROTTLED:
                    return THROTTLED_TEXT, get
                if get.status_code != 200:
                    return f"GET answered {get.status_code} right after PATCH answered {response.status_code}", get
                data = data_of(get)
                if data is not None and any(data.get(k) != v for k, v in body["data"].items()):
                    return "GET right after PATCH does not show the patched keys", get
                return None, get
            pending_head = Beside(lambda: self._read("HEAD", target, write))
            get = self._read("GET", target, write)
            head = pending_head.result()
            if THROTTLED in (get.status_code, head.status_code):
                return THROTTLED_TEXT, get
            expected = (404, 404) if kind == "delete" else (200, 204)
            if (get.status_code, head.status_code) != expected:
                what = "DELETE" if kind == "delete" else kind
                return f"GET answered {get.status_code} and HEAD {head.status_code} right after {what} answered {response.status_code}", get
            return None, get

        observed, first = observe()
        if observed == THROTTLED_TEXT:  # a sample hit by throttling says nothing: discarded (the sampler takes another)
            return
        miss: WriteMiss | None = None
        if observed is not None:
            token = token_of(write, self.cancel)
            window: float | None = None
            for delay in backoff(VISIBILITY_BOUND):
                token.sleep(delay)
                again, _ = observe()
                if again is None:
                    window = (time.monotonic() - answered) * 1000
                    break
            miss = WriteMiss(f"{method} {target}", observed, self.render(first.request), window)
        if write.extensions.get(SAMPLE):
            self.ledger.record(kind, miss)


# --- failures ------------------------------------------------------------------------------------


class Failures(Layer):
    """Turns "no HTTP answer" (an `httpx.TransportError`: timeout, reset, refused) into a `TransportFailure`,
    a `ContractViolation` that carries the curl line of that very request, so it fails only the check that
    sent it (and a read-back's failure shows the read-back)."""

    def __init__(self, inner: httpx.BaseTransport, render: Render, base_path: str = "") -> None:
        super().__init__(inner)
        self.render = render
        self.base_path = base_path

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return self.inner.handle_request(request)
        except httpx.TransportError as exc:
            reason = str(exc).splitlines()[0] if str(exc) else ""
            path = api_path(request.url, self.base_path)
            raise TransportFailure(
                f"{request.method} {path}: no answer ({type(exc).__name__}{': ' + reason if reason else ''})",
                reproduction=self.render(request),
            ) from None


class RetrySafe(Layer):
    """Sends a GET or HEAD once more when the connection failed under it (reset, closed, broken pipe)
    before any answer came: RFC 9110 §9.2.2 lets a client retry an idempotent request automatically
    after a connection failure, and GET and HEAD are also safe (§9.2.1), so a retry cannot change what
    a check observes. The common cause is benign: a keep-alive connection the server closed (its
    idle timeout) just as a request was written on it. Timeouts are never retried (the deadline is
    the user's), nor are writes, whose first attempt may have taken effect."""

    RETRIED = (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError, httpx.ConnectError)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method not in ("GET", "HEAD"):
            return self.inner.handle_request(request)
        try:
            return self.inner.handle_request(request)
        except self.RETRIED:
            return self.inner.handle_request(request)


# --- the deadline of the whole exchange ----------------------------------------------------------


class InFlight:
    """The writes under way through one client's `Deadline`: from the moment an exchange is handed to its
    helper thread until that thread is done, even if the caller has left (a stop, a deadline, a measured
    sample not waited for). Cleanup waits for them first: a create answered after cleanup looked would
    leave its session behind unseen."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = threading.Condition()

    def enter(self) -> None:
        with self._idle:
            self._count += 1

    def leave(self) -> None:
        with self._idle:
            self._count -= 1
            if self._count == 0:
                self._idle.notify_all()

    @property
    def count(self) -> int:
        with self._idle:
            return self._count

    def wait_idle(self, timeout: float) -> bool:
        """Block until no write is under way (True) or `timeout` seconds pass (False)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._count == 0, max(timeout, 0.0))


class _Exchange:
    """One request and its whole answer, read on a daemon thread; see `Deadline`."""

    def __init__(self, inner: httpx.BaseTransport, request: httpx.Request, deadline: float, cancel: CancelToken,
                 patient: bool = False) -> None:
        self.inner = inner
        self.patient = patient  # keeps reading after a cancel, until abandoned
        self.request = request
        self.deadline = deadline
        self.cancel = cancel
        self.done = threading.Event()
        self.woken = threading.Event()  # set with `done`, and by a stop: what the caller waits on
        self.abandoned = threading.Event()
        self.response: httpx.Response | None = None
        self.error: BaseException | None = None
        self.timed_out = False
        self.in_flight: InFlight | None = None  # set for a write: left when `run` ends

    def _bound_reads(self) -> None:
        """Every phase's timeout (connect, write, pool, each read) is what remains of the deadline."""
        if self.deadline == float("inf"):
            return  # no deadline of ours: httpx's own timeouts stay
        left = max(self.deadline - time.monotonic(), 0.001)
        self.request.extensions["timeout"] = dict.fromkeys(("connect", "read", "write", "pool"), left)

    def run(self) -> None:
        try:
            self._bound_reads()
            response = self.inner.handle_request(self.request)
            try:
                try:
                    response.content  # noqa: B018  # already read (a mock's answer): nothing left to bound
                    self.response = response
                    return
                except httpx.ResponseNotRead:
                    pass
                self._bound_reads()  # the body's reads start now: bound them by what remains
                chunks: list[bytes] = []
                for chunk in response.iter_raw():
                    chunks.append(chunk)
                    if self.abandoned.is_set() or (self.cancel.cancelled and not self.patient):
                        return
                    if time.monotonic() >= self.deadline:
                        self.timed_out = True
                        return
                    self._bound_reads()
                self.response = httpx.Response(
                    response.status_code, headers=response.headers, stream=httpx.ByteStream(b"".join(chunks)),
                    request=self.request, extensions=response.extensions,
                )
            finally:
                response.close()  # a half-read answer closes its connection: it is never reused
        except BaseException as exc:  # handed to the caller, who may have left already
            self.error = exc
        finally:
            self.done.set()
            self.woken.set()
            if self.in_flight is not None:
                self.in_flight.leave()


class Deadline(Layer):
    """One deadline for the whole exchange: `timeout` seconds cover connect, sending, the headers AND the
    last byte of the body (httpx's own `timeout=` bounds each read, so an answer dripping a byte a second
    never ends). The body is streamed; between chunks the deadline and the cancel token are checked, and
    each read's timeout is set to what remains. The exchange runs on a helper daemon thread while the caller
    watches the deadline and the token: a hung or dripping target cannot hold the caller past either
    (the abandoned exchange ends itself at the deadline and closes its connection).

    Exceeding the deadline raises an `httpx.TimeoutException` naming it (`Failures` above makes it a
    `TransportFailure`); cancellation raises `Cancelled`. A request's `DEADLINE` extension (absolute,
    `time.monotonic()`) can only shorten it. `timeout <= 0`: no deadline of ours. A write already sent
    when the token is cancelled gets `grace` more seconds (within its deadline) to finish: its answer tells
    what it created, so cleanup deletes it by id instead of reporting an unknown."""

    def __init__(self, inner: httpx.BaseTransport, timeout: float, cancel: CancelToken = NEVER, grace: float = 2.0,
                 in_flight: InFlight | None = None) -> None:
        super().__init__(inner)
        self.timeout = timeout
        self.cancel = cancel
        self.grace = grace
        self.in_flight = in_flight or InFlight()  # the writes under way, abandoned ones included

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        token = token_of(request, self.cancel)
        token.check()
        started = time.monotonic()
        deadline = started + self.timeout if self.timeout > 0 else float("inf")
        cap = request.extensions.get(DEADLINE)
        if isinstance(cap, float | int):
            deadline = min(deadline, float(cap))
        limit = deadline - started
        patient = request.method in WRITE_METHODS  # its answer may name what cleanup must delete
        exchange = _Exchange(self.inner, request, deadline, token, patient)
        request.extensions[SENT] = True
        forget = token.on_cancel(exchange.woken.set)  # a stop wakes the wait below: no polling
        if patient:
            exchange.in_flight = self.in_flight
            self.in_flight.enter()
        try:
            try:
                HELPERS.submit(exchange.run)
            except BaseException:
                if patient:
                    self.in_flight.leave()
                raise
            give_up: float | None = None  # once cancelled: when the exchange is abandoned
            while True:
                exchange.woken.clear()  # before looking: a wake-up that comes after the look is not lost
                if exchange.done.is_set():
                    break
                now = time.monotonic()
                if token.cancelled:
                    give_up = give_up if give_up is not None else now + (self.grace if patient else 0.0)
                    if now >= give_up:
                        exchange.abandoned.set()
                        token.check()
                if now >= deadline:
                    exchange.abandoned.set()
                    raise self._late(request, limit, httpx.ReadTimeout)
                until = min(deadline, give_up if give_up is not None else float("inf"))
                exchange.woken.wait(None if until == float("inf") else until - now)
        finally:
            forget()
        if exchange.timed_out:
            raise self._late(request, limit, httpx.ReadTimeout)
        if exchange.error is not None:
            if isinstance(exchange.error, httpx.TimeoutException):
                raise self._late(request, limit, type(exchange.error)) from None
            raise exchange.error
        if exchange.response is None:  # it stopped for the token
            token.check()
            raise self._late(request, limit, httpx.ReadTimeout)
        return exchange.response

    @staticmethod
    def _late(request: httpx.Request, limit: float, kind: type[httpx.TimeoutException]) -> httpx.TimeoutException:
        return kind(f"no complete answer within the deadline of {limit:.3g} s (connect, headers and body)", request=request)


# --- the network ---------------------------------------------------------------------------------


class Network(httpx.BaseTransport):
    """The default innermost layer: an `httpx.Client` per thread (its `HTTPTransport` with `limits`, the
    environment's proxies as a plain `httpx.Client` would use them, and `verify`: the run's SSL context,
    see `session_spec.tls`) sending each request as a stream, so `Deadline` reads the body itself.

    One connection pool per thread, because httpcore's pool is not safe to share here: a connection handed
    to one thread's request but not yet marked active can be judged expired (its keep-alive just ran
    out) by another thread's pass over the pool and closed under the request, which then fails with
    EBADF although the target answered (seen as a false failure about once in 50 default runs). A pool
    that only its own thread uses closes an expired connection before it hands one out. The threads that
    send are the client's reused helper threads (`contract_tests.daemons`), so their connections stay
    warm."""

    def __init__(self, limits: httpx.Limits, verify: ssl.SSLContext | bool = True) -> None:
        self.limits = limits
        self.verify = verify
        self._local = threading.local()
        self._clients: list[httpx.Client] = []  # every thread's, to close them all
        self._lock = threading.Lock()
        self._closed = False

    @property
    def client(self) -> httpx.Client:
        """The calling thread's client (made on its first request)."""
        client: httpx.Client | None = getattr(self._local, "client", None)
        if client is None:
            client = httpx.Client(limits=self.limits, follow_redirects=False, verify=self.verify)
            with self._lock:
                if self._closed:
                    client.close()
                    raise httpx.TransportError("the client was closed")
                self._clients.append(client)
            self._local.client = client
        return client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.client.send(request, stream=True)
        hook = request.extensions.get(ON_HEADERS)
        if callable(hook):  # the status line and headers are in; the body is still to be read
            hook()
        return response

    def close(self) -> None:
        with self._lock:
            self._closed = True
            clients, self._clients = self._clients, []
        for client in clients:
            client.close()


__all__ = [
    "CANCEL", "CHECK_WRITE", "DEADLINE", "JSON_BODY", "ON_HEADERS", "PAIRED", "SAMPLE", "SENT", "Counting", "Deadline", "Failures", "Layer",
    "Network", "OwnershipGuard", "RateLimit", "RateLimiter", "ReadYourWrites", "RetrySafe", "SessionRequests", "THROTTLE_PATIENCE", "Throttle",
    "Throttled", "Tracking", "TransportFailure",
    "UnsafeRequest", "token_of",
]
