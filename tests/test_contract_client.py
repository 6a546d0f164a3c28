"""The suite's one client: it never changes sessions it did not create, never prints header values,
keeps to --max-rps, bounds each whole answer by one deadline, stops when the run's token is cancelled,
and cleans up what it made, saying truly what it left.

Each layer is tested alone against `httpx.MockTransport`; the deadline and cancellation also against
loopback servers whose answers drip or hang for ever (so without the deadline or the token the request
would never end: the upper bounds on time below are generous and only there to fail instead of hanging).
"""

from __future__ import annotations

import base64
import contextvars
import json
import socketserver
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from contract_tests import daemons, transports
from contract_tests.cancel import Cancelled, CancelToken
from contract_tests.client import SESSION_PATH, SHARED, ContractClient, RateLimiter, TransportFailure, UnsafeRequest, current_property
from contract_tests.ledgers import Hygiene, RequestCounter, WriteLedger
from contract_tests.redaction import Redactor, parse_header
from contract_tests.sessions import SessionBook
from contract_tests.transports import (
    SENT,
    Counting,
    Deadline,
    Failures,
    OwnershipGuard,
    RateLimit,
    ReadYourWrites,
    Tracking,
)

BOUND = 5.0  # a generous upper bound (s) on "soon": only there so a broken layer fails instead of hanging


# --- in-process doubles ----------------------------------------------------------------------------


class Store:
    """A tiny in-memory session API for `httpx.MockTransport`, with knobs for lag and stubbornness."""

    def __init__(self) -> None:
        self.sessions: dict[str, dict[str, object]] = {}
        self.seen: list[str] = []
        self.hidden_reads = 0  # the next N GETs/HEADs of an existing session answer 404 (a lagging replica)
        self.undeletable: set[str] = set()  # DELETE answers 500
        self.lying_deletes: set[str] = set()  # DELETE answers 204 but the session stays
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            return self.answer(request)

    def answer(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.seen.append(f"{request.method} {path}")
        if path == SESSION_PATH and request.method == "POST":
            sid = str(uuid.uuid4())
            self.sessions[sid] = {}
            return httpx.Response(201, json={"sessionId": sid})
        sid = path.rsplit("/", 1)[-1]
        if request.method == "POST":
            self.sessions[sid] = {}
            return httpx.Response(201, json={"sessionId": sid})
        exists = sid in self.sessions
        if request.method in {"GET", "HEAD"} and exists and self.hidden_reads > 0:
            self.hidden_reads -= 1
            exists = False
        if request.method == "GET":
            return httpx.Response(200, json={"data": self.sessions[sid]}) if exists else httpx.Response(404, json={"detail": "no"})
        if request.method == "HEAD":
            return httpx.Response(204 if exists else 404)
        if request.method == "PATCH":
            if not exists:
                return httpx.Response(404, json={"detail": "no"})
            self.sessions[sid].update(json.loads(request.content)["data"])
            return httpx.Response(200, json={"data": self.sessions[sid]})
        if request.method == "DELETE":
            if sid in self.undeletable:
                return httpx.Response(500, json={"detail": "no"})
            if not exists:
                return httpx.Response(404, json={"detail": "no"})
            if sid not in self.lying_deletes:
                del self.sessions[sid]
            return httpx.Response(204)
        return httpx.Response(405)


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"ok": True})


def send(transport: httpx.BaseTransport, method: str, url: str, **kwargs: object) -> httpx.Response:
    with httpx.Client(transport=transport, base_url="http://target") as http:
        return http.request(method, url, **kwargs)  # type: ignore[arg-type]


def in_process(store: Store | None = None, **kwargs: object) -> tuple[ContractClient, Store]:
    store = store or Store()
    return ContractClient("http://target", transport=httpx.MockTransport(store), **kwargs), store  # type: ignore[arg-type]


class FakeClock(CancelToken):
    """A cancel token whose `sleep` only advances a fake clock (and records the sleeps)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, now: float = 100.0) -> None:
        super().__init__()
        self.now = now
        self.slept: list[float] = []
        monkeypatch.setattr(time, "monotonic", lambda: self.now)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def ends_soon(fn: Callable[[], object], cancel_after: float, token: CancelToken) -> tuple[BaseException | None, float]:
    """Run `fn` on a thread, cancel `token` after `cancel_after` s; (what it raised, seconds from cancel to its end)."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            fn()
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    time.sleep(cancel_after)
    cancelled = time.monotonic()
    token.cancel("test stop")
    thread.join(BOUND)
    assert not thread.is_alive(), "the request did not end after cancel()"
    return outcome[0], time.monotonic() - cancelled


def within(fn: Callable[[], object], bound: float = BOUND) -> BaseException | None:
    """Run `fn` on a daemon thread; what it raised (None if nothing). Fails, instead of hanging, if it
    has not ended after `bound` s: the servers below never finish an answer by themselves."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            fn()
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(bound)
    assert not thread.is_alive(), f"still waiting for an answer after {bound:g} s"
    return outcome[0]


# --- loopback servers that never finish --------------------------------------------------------------


class Endless(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.stop = threading.Event()
        self.dripped = 0
        super().__init__(("127.0.0.1", 0), EndlessHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class EndlessHandler(socketserver.BaseRequestHandler):
    """`drip`: headers at once, then a chunked body of one byte every 0.3 s, for ever; `hang`: never answers."""

    server: Endless

    def handle(self) -> None:
        received = b""
        while b"\r\n\r\n" not in received:
            data = self.request.recv(4096)
            if not data:
                return
            received += data
        if self.server.mode == "hang":
            self.server.stop.wait()
            return
        try:
            self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n")
            while not self.server.stop.wait(0.3):
                self.request.sendall(b"1\r\nx\r\n")
                self.server.dripped += 1
        except OSError:
            return


@pytest.fixture()
def endless() -> Iterator[Callable[[str], Endless]]:
    servers: list[Endless] = []

    def start(mode: str) -> Endless:
        server = Endless(mode)
        servers.append(server)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return server

    yield start
    for server in servers:
        server.stop.set()
        server.shutdown()
        server.server_close()


# --- against the reference (end to end through every layer) ----------------------------------------


def test_client_refuses_to_patch_or_delete_a_session_it_did_not_create(base_url: str) -> None:
    foreign = httpx.post(f"{base_url}/api/v1/session").json()["sessionId"]
    with ContractClient(base_url) as contract:
        for attempt in (lambda: contract.delete(foreign), lambda: contract.patch(foreign, {"x": 1}),
                        lambda: contract.delete(foreign.upper()), lambda: contract.delete("{" + foreign + "}")):
            with pytest.raises(UnsafeRequest):
                attempt()
        own = contract.create().json()["sessionId"]
        assert contract.patch(own, {"x": 1}).status_code == 200
        hygiene = contract.cleanup()
        assert (hygiene.deleted, hygiene.left_behind) == (1, [])
    assert httpx.head(f"{base_url}/api/v1/session/{foreign}").status_code == 204
    assert httpx.head(f"{base_url}/api/v1/session/{own}").status_code == 404


def test_curl_reproduction_redacts_every_header_value(base_url: str) -> None:
    with ContractClient(base_url, {"Authorization": "Bearer hunter2", "X-Key": "7"}) as contract:
        response = contract.request("PATCH", f"/api/v1/session/{contract.fresh_id()}", json={"data": {"n": 7}})
        curl = contract.curl(response.request)
    assert "hunter2" not in curl and "X-Key: 7" not in curl
    assert "-H 'Authorization: <redacted>'" in curl and "-X PATCH" in curl and '{"n":7}' in curl


def test_read_your_writes_records_only_the_writes_sent_as_samples(base_url: str) -> None:
    """Every write is read back (checks read a settled state), but only samples feed the measurement:
    a read-back delayed by the rest of a run's load would hide brief faults."""
    with ContractClient(base_url) as contract:
        sid = contract.create().json()["sessionId"]
        contract.patch(sid, {"a": 1})
        assert contract.writes.checked == 0
        contract.request("PATCH", f"/api/v1/session/{sid}", json={"data": {"b": 2}}, sample=True)
        contract.request("DELETE", f"/api/v1/session/{sid}", sample=True)
        assert contract.writes.checked == 2 and contract.writes.misses == []


def test_header_parsing_errors_never_echo_the_value() -> None:
    assert parse_header("Authorization: Bearer x:y") == ("Authorization", "Bearer x:y")
    with pytest.raises(ValueError) as error:
        parse_header("Bearer-s3cr3t")
    assert "s3cr3t" not in str(error.value)
    # a line break inside the value, a control character or a non-ASCII letter (RFC 9110 §5.5): refused
    # here, by name only, before httpx could echo the value in its own error or fail with a traceback
    for value in ("Bearer s3cr3t\nX-Other: y", "Bearer s3cr3t\x00", "Bearer s3cr\u00c9t"):
        with pytest.raises(ValueError) as error:
            parse_header(f"Authorization: {value}")
        assert "s3cr" not in str(error.value) and "Authorization" in str(error.value)
    assert parse_header("Authorization: Bearer s3cr3t\n") == ("Authorization", "Bearer s3cr3t")  # a trailing newline is trimmed


# --- rate limit --------------------------------------------------------------------------------------


def test_rate_limiter_spaces_request_starts_by_one_over_max_rps(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock(monkeypatch)
    limiter = RateLimiter(max_rps=10)
    for _ in range(5):
        limiter.wait(clock)
    assert clock.slept == pytest.approx([0.1] * 4)
    RateLimiter(max_rps=0).wait(clock)  # no limit: never sleeps
    assert len(clock.slept) == 4


def test_rate_limiter_allows_a_burst_then_keeps_the_average(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock(monkeypatch, now=0.0)
    limiter = RateLimiter(max_rps=5, burst=3)
    for _ in range(5):
        limiter.wait(clock)
    assert clock.slept == pytest.approx([0.2, 0.2])


def test_rate_limit_layer_waits_on_the_requests_token_before_each_request(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock(monkeypatch)
    sent: list[float] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(clock.now)
        return httpx.Response(204)

    layer = RateLimit(httpx.MockTransport(record), RateLimiter(max_rps=4), cancel=clock)
    for _ in range(3):
        send(layer, "GET", "/x")
    assert sent == pytest.approx([100.0, 100.25, 100.5]) and clock.slept == pytest.approx([0.25, 0.25])


def test_a_request_waiting_on_the_rate_limiter_ends_soon_after_cancel() -> None:
    token = CancelToken()
    client, store = in_process(max_rps=0.05, cancel=token)  # the second request would wait 20 s
    with client:
        client.get(str(uuid.uuid4()))
        error, after_cancel = ends_soon(lambda: client.get(str(uuid.uuid4())), 0.3, token)
    assert isinstance(error, Cancelled) and error.reason == "test stop"
    assert after_cancel < BOUND and len(store.seen) == 1  # the waiting request never left


def test_no_request_leaves_once_the_token_is_cancelled() -> None:
    token = CancelToken()
    client, store = in_process(cancel=token)
    token.cancel("budget")
    with client, pytest.raises(Cancelled):
        client.create()
    assert store.seen == [] and client.request_count == 0


# --- the ownership guard -----------------------------------------------------------------------------


def test_guard_refuses_changes_to_sessions_the_run_does_not_own_and_sends_nothing() -> None:
    book, store = SessionBook(), Store()
    foreign, own, reserved = uuid.uuid4(), uuid.uuid4(), book.reserve()
    book.created(own, "p")
    guard = OwnershipGuard(httpx.MockTransport(store), book, base_path="/prefix")
    for method, raw in [("DELETE", str(foreign)), ("PATCH", str(foreign).upper()), ("DELETE", "{" + str(foreign) + "}"),
                        ("DELETE", foreign.hex)]:
        with pytest.raises(UnsafeRequest):
            send(guard, method, f"/prefix{SESSION_PATH}/{raw}", json={"data": {}})
    assert store.seen == []
    assert send(guard, "GET", f"/prefix{SESSION_PATH}/{foreign}").status_code == 404  # reading is fine
    assert send(guard, "DELETE", f"/prefix{SESSION_PATH}/{own}").status_code == 404
    assert send(guard, "DELETE", f"/prefix{SESSION_PATH}/{reserved}").status_code == 404
    assert send(guard, "DELETE", f"/prefix{SESSION_PATH}/not-a-uuid").status_code == 404  # malformed ids: the target's 4xx


# --- counting and the request log --------------------------------------------------------------------


def test_counting_charges_each_request_to_the_property_running_and_logs_its_path() -> None:
    counter = RequestCounter()
    counter.log = []
    layer = Counting(httpx.MockTransport(ok), counter)

    def as_property(pid: str, path: str) -> None:
        current_property.set(pid)
        send(layer, "GET", path)

    contextvars.copy_context().run(as_property, "create.fresh-id", "/a")
    contextvars.copy_context().run(as_property, "create.fresh-id", "/b?key=1")
    contextvars.copy_context().run(as_property, "delete.gone", "/c")
    send(layer, "HEAD", "/d")
    assert counter.total == 4
    assert counter.by_property == {"create.fresh-id": 2, "delete.gone": 1, SHARED: 1}
    assert counter.log == ["create.fresh-id GET /a", "create.fresh-id GET /b?key=1", "delete.gone GET /c", "(shared) HEAD /d"]


def test_the_clients_counts_include_read_backs_but_not_refused_requests() -> None:
    client, _ = in_process()

    def as_property() -> None:
        current_property.set("p")
        client.create()
        with pytest.raises(UnsafeRequest):
            client.delete(str(uuid.uuid4()))

    with client:
        contextvars.copy_context().run(as_property)
    assert client.requests_by_property == {"p": 3}  # POST, then its GET and HEAD read-backs


# --- tracking ----------------------------------------------------------------------------------------


def test_tracking_learns_creates_from_201_bodies_and_create_with_id_and_deletes() -> None:
    book, store = SessionBook(), Store()
    layer = Tracking(httpx.MockTransport(store), book)
    made = uuid.UUID(send(layer, "POST", SESSION_PATH).json()["sessionId"])
    chosen = uuid.uuid4()
    send(layer, "POST", f"{SESSION_PATH}/{chosen}")
    assert book.live == {made, chosen} and book.created_count() == 2
    send(layer, "DELETE", f"{SESSION_PATH}/{made}")
    assert book.live == {chosen} and book.deleted == {made}
    send(layer, "DELETE", f"{SESSION_PATH}/{uuid.uuid4()}")  # 404: nothing learned
    assert book.deleted == {made}


def test_tracking_notes_creates_whose_answer_never_came() -> None:
    book = SessionBook()

    def no_answer(request: httpx.Request) -> httpx.Response:
        request.extensions[SENT] = True
        raise httpx.ReadTimeout("timed out", request=request)

    layer = Tracking(httpx.MockTransport(no_answer), book)
    chosen = uuid.uuid4()
    for path in (SESSION_PATH, f"{SESSION_PATH}/{chosen}"):
        with pytest.raises(httpx.ReadTimeout):
            send(layer, "POST", path)
    assert book.uncertain == {chosen} and book.unanswered_creates == 1 and book.live == set()


class ServerOrderNotReadOrder(Store):
    """The DELETE of a session is made first and the create-with-id of that id after it (so it
    exists at the end), but the DELETE's answer is read last: what a concurrent history can do."""

    def __init__(self) -> None:
        super().__init__()
        self.deleted, self.created = threading.Event(), threading.Event()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "DELETE" and not self.deleted.is_set():
            response = super().__call__(request)
            self.deleted.set()
            self.created.wait(5)  # its answer is read after the create's
            return response
        response = super().__call__(request)
        if request.method == "POST" and self.deleted.is_set():
            self.created.set()  # made after the DELETE
        return response


def test_an_id_written_by_overlapping_writes_is_left_to_cleanup_whatever_the_last_answer_read() -> None:
    store = ServerOrderNotReadOrder()
    client, _ = in_process(store, verify_writes=False)
    sid = client.fresh_id()
    assert client.request("POST", f"{SESSION_PATH}/{sid}").status_code == 201
    racing = threading.Thread(target=lambda: client.request("DELETE", f"{SESSION_PATH}/{sid}"))
    racing.start()
    assert store.deleted.wait(5)
    again = client.request("POST", f"{SESSION_PATH}/{sid}")  # made after the DELETE, answered before it
    racing.join(10)
    assert again.status_code == 201 and str(sid) in store.sessions  # the target holds it at the end
    assert uuid.UUID(str(sid)) in client.sessions.to_clean()  # though the last answer read was the DELETE's
    hygiene = client.cleanup()
    assert hygiene.left_behind == [] and store.sessions == {}


# --- read-your-writes --------------------------------------------------------------------------------


def read_your_writes(store: Store) -> tuple[ReadYourWrites, WriteLedger]:
    ledger = WriteLedger()
    http = httpx.Client(base_url="http://target")
    layer = ReadYourWrites(httpx.MockTransport(store), ledger, http.build_request, lambda r: f"curl {r.method} {r.url.path}")
    return layer, ledger


def test_read_your_writes_records_a_late_write_with_its_window() -> None:
    store = Store()
    layer, ledger = read_your_writes(store)
    store.hidden_reads = 3  # the first read-back pair and one more read miss it
    sid = send(layer, "POST", SESSION_PATH, extensions={transports.SAMPLE: True}).json()["sessionId"]
    create = ledger.kinds["create"]
    assert create.checked == 1 and len(create.misses) == 1
    miss = create.misses[0]
    assert miss.write == f"POST {SESSION_PATH}/{sid}" and miss.window_ms is not None and miss.window_ms >= 0
    assert "right after create answered 201" in miss.observed and miss.reproduction == f"curl GET {SESSION_PATH}/{sid}"
    assert "1 of 1 (100.0 %; 95 % interval 20.7 % to 100.0 %) not visible at once; window median" in create.summary()


def test_read_your_writes_records_a_write_never_seen_within_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transports, "VISIBILITY_BOUND", 0.05)
    store = Store()
    layer, ledger = read_your_writes(store)
    store.hidden_reads = 10**6
    sid = uuid.uuid4()
    send(layer, "POST", f"{SESSION_PATH}/{sid}", extensions={transports.SAMPLE: True})
    [miss] = ledger.kinds["create-with-id"].misses
    assert miss.window_ms is None
    assert "GET answered 404 and HEAD 404" in miss.observed


def test_read_your_writes_checks_patches_and_deletes_and_skips_unchecked_writes() -> None:
    store = Store()
    layer, ledger = read_your_writes(store)
    sid = send(layer, "POST", SESSION_PATH, extensions={transports.SAMPLE: True}).json()["sessionId"]
    request = httpx.Request("PATCH", f"http://target{SESSION_PATH}/{sid}", json={"data": {"a": 1}},
                            extensions={transports.JSON_BODY: {"data": {"a": 1}}, transports.SAMPLE: True})
    layer.handle_request(request)
    layer.handle_request(httpx.Request("DELETE", f"http://target{SESSION_PATH}/{sid}", extensions={transports.SAMPLE: True}))
    layer.handle_request(httpx.Request("DELETE", f"http://target{SESSION_PATH}/{sid}", extensions={transports.CHECK_WRITE: False}))
    assert {kind: k.checked for kind, k in ledger.kinds.items()} == {"create": 1, "create-with-id": 0, "patch": 1, "delete": 1}
    assert ledger.misses == []
    reads = sorted(s for s in store.seen if s.startswith(("GET", "HEAD")))  # a HEAD and its GET race: sorted
    assert reads == sorted([f"GET {SESSION_PATH}/{sid}"] * 3 + [f"HEAD {SESSION_PATH}/{sid}"] * 2)
    assert len(store.seen) == 1 + 2 + 1 + 1 + 1 + 2 + 1  # POST, 2 reads, PATCH, GET, DELETE, 2 reads, unchecked DELETE


def test_the_head_beside_a_read_back_runs_on_a_daemon_thread() -> None:
    daemons: list[bool] = []

    def note(request: httpx.Request) -> httpx.Response:
        if request.method == "HEAD":
            daemons.append(threading.current_thread().daemon)
        return Store.answer(store, request)

    store = Store()
    layer, _ = read_your_writes(store)
    layer.inner = httpx.MockTransport(note)
    send(layer, "POST", SESSION_PATH)
    assert daemons == [True]


# --- redaction and failures --------------------------------------------------------------------------


def test_curl_lines_show_header_values_as_redacted_where_they_stand_and_keep_every_other_digit() -> None:
    client = ContractClient("http://target/v1", {"Authorization": "Bearer hunter2", "X-Api-Version": "1"},
                            transport=httpx.MockTransport(ok))
    with client:
        response = client.request("POST", "/echo", content=b'{"n": 1}', headers={"Content-Type": "application/json"},
                                  params={"key": "1"})
    curl = client.curl(response.request)
    assert "hunter2" not in curl
    assert "-H 'Authorization: <redacted>'" in curl and "-H 'X-Api-Version: <redacted>'" in curl
    assert "http://target/v1/echo?key=1" in curl and """--data-raw '{"n": 1}'""" in curl


def test_credentials_in_the_base_url_become_basic_auth_and_are_shown_nowhere() -> None:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ok(request)

    with ContractClient("http://al%40ice:pa%3Ass@target:8080/prefix", transport=httpx.MockTransport(record)) as client:
        response = client.request("GET", "/x")
    assert seen[0].headers["authorization"] == "Basic " + base64.b64encode(b"al@ice:pa:ss").decode()
    assert str(seen[0].url) == "http://target:8080/prefix/x"
    curl = client.curl(response.request)
    assert "pa%3Ass" not in curl and "pa:ss" not in curl and "al" not in curl.split("-H")[0].split("//")[1]
    assert "-H 'Authorization: <redacted>'" in curl


def test_the_redactor_replaces_only_long_values_in_foreign_text() -> None:
    redact = Redactor(["1", "Bearer t0k3n-abcdef"])
    assert redact("seed 1231, 401: bad token t0k3n-abcdef") == "seed 1231, 401: bad token <redacted>"


def test_no_answer_is_a_transport_failure_carrying_the_requests_curl() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    layer = Failures(httpx.MockTransport(refuse), lambda r: f"curl {r.method} {r.url}", base_path="/base")
    with pytest.raises(TransportFailure) as failure:
        send(layer, "GET", f"/base{SESSION_PATH}/x")
    assert failure.value.explanation == f"GET {SESSION_PATH}/x: no answer (ConnectError: connection refused)"
    assert failure.value.reproduction == f"curl GET http://target/base{SESSION_PATH}/x"


# --- the deadline of the whole answer ----------------------------------------------------------------


def test_a_plain_per_read_timeout_does_not_bound_a_dripping_answer(endless: Callable[[str], Endless]) -> None:
    """The control: with httpx's own timeout of 1 s, a dripping answer keeps coming for longer than that."""
    server = endless("drip")
    with httpx.Client(timeout=1.0) as http, http.stream("GET", server.url) as response:
        started, received = time.monotonic(), 0
        for chunk in response.iter_raw():
            received += len(chunk)
            if time.monotonic() - started > 1.5:
                break
    assert received >= 3  # more than 1 s of answer, and no timeout


def test_a_dripping_answer_fails_at_the_deadline_of_the_whole_exchange(endless: Callable[[str], Endless]) -> None:
    server = endless("drip")
    with ContractClient(server.url, timeout=1.0) as client:
        failure = within(lambda: client.request("GET", "/drip"))
    assert isinstance(failure, TransportFailure), failure
    assert "deadline of 1 s" in failure.explanation and "no answer (ReadTimeout" in failure.explanation
    assert failure.reproduction.startswith("curl -i ") and server.dripped >= 1


def test_a_hung_answer_fails_at_the_deadline(endless: Callable[[str], Endless]) -> None:
    server = endless("hang")
    with ContractClient(server.url, timeout=1.0) as client:
        failure = within(lambda: client.request("GET", "/hang"))
    assert isinstance(failure, TransportFailure) and "deadline of 1 s" in failure.explanation, failure


def test_the_deadline_layer_bounds_a_slow_stream_in_process() -> None:
    class Slow(httpx.SyncByteStream):
        def __iter__(self) -> Iterator[bytes]:
            while True:  # never ends
                time.sleep(0.05)
                yield b"x"

    layer = Deadline(httpx.MockTransport(lambda request: httpx.Response(200, stream=Slow())), timeout=0.5)
    late = within(lambda: send(layer, "GET", "/slow"))
    assert isinstance(late, httpx.ReadTimeout) and "deadline of 0.5 s" in str(late), late
    for timeout in (0.5, 0.0):  # 0: no deadline of ours
        fine = Deadline(httpx.MockTransport(lambda request: httpx.Response(200, stream=httpx.ByteStream(b"abc"))), timeout)
        assert send(fine, "GET", "/fine").content == b"abc"


def test_with_no_deadline_a_dripping_answer_still_ends_on_cancel(endless: Callable[[str], Endless]) -> None:
    server = endless("drip")
    token = CancelToken()
    with ContractClient(server.url, timeout=0.0, cancel=token) as client:
        error, after_cancel = ends_soon(lambda: client.request("GET", "/drip"), 0.5, token)
    assert isinstance(error, Cancelled) and after_cancel < BOUND and server.dripped >= 1


def test_a_request_with_a_dripping_answer_ends_soon_after_cancel(endless: Callable[[str], Endless]) -> None:
    server = endless("drip")
    token = CancelToken()
    with ContractClient(server.url, timeout=600.0, cancel=token) as client:
        error, after_cancel = ends_soon(lambda: client.request("GET", "/drip"), 0.7, token)
    assert isinstance(error, Cancelled) and after_cancel < BOUND and server.dripped >= 1


def test_a_request_waiting_for_headers_ends_soon_after_cancel(endless: Callable[[str], Endless]) -> None:
    server = endless("hang")
    token = CancelToken()
    with ContractClient(server.url, timeout=600.0, cancel=token) as client:
        error, after_cancel = ends_soon(lambda: client.request("GET", "/hang"), 0.3, token)
    assert isinstance(error, Cancelled) and after_cancel < BOUND


def test_a_create_under_way_when_cancelled_gets_a_grace_to_finish_so_its_id_is_known() -> None:
    token = CancelToken()
    store, release = Store(), threading.Event()

    def slow_create(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            token.cancel("interrupted")  # the run stops while this create is under way
            release.wait(BOUND)
        return store(request)

    with ContractClient("http://target", cancel=token, transport=httpx.MockTransport(slow_create)) as client:
        threading.Timer(0.3, release.set).start()
        with pytest.raises(Cancelled):  # by its read-back, which does not leave
            client.create()
        assert client.live == {uuid.UUID(sid) for sid in store.sessions} and len(store.sessions) == 1  # answered in the grace
        assert client.cleanup().left_behind == [] and store.sessions == {}


def test_a_create_that_never_finishes_is_abandoned_after_the_grace_and_counted_unknown(endless: Callable[[str], Endless]) -> None:
    server = endless("drip")
    token = CancelToken()
    with ContractClient(server.url, timeout=600.0, cancel=token) as client:
        error, after_cancel = ends_soon(client.create, 0.5, token)
        assert isinstance(error, Cancelled) and after_cancel < BOUND
        hygiene = client.cleanup(timeout=1.0)
    assert (hygiene.unknown, hygiene.left_behind) == (1, [])


# --- cleanup -----------------------------------------------------------------------------------------


def test_cleanup_after_cancel_deletes_what_was_created_and_reports_true_leftovers() -> None:
    token = CancelToken()
    client, store = in_process(cancel=token)
    with client:
        made = [client.create().json()["sessionId"] for _ in range(3)]
        chosen = client.fresh_id()
        client.create_with_id(chosen)
        stubborn = made[0]
        store.undeletable.add(stubborn)
        token.cancel("interrupted")
        with pytest.raises(Cancelled):
            client.create()
        hygiene = client.cleanup(timeout=10.0)
    assert hygiene.left_behind == [stubborn]
    assert set(store.sessions) == {stubborn}
    assert (hygiene.created, hygiene.deleted, hygiene.unknown) == (4, 3, 0)
    assert client.requests_by_property[SHARED] >= 4 + 3  # cleanup's DELETEs and HEADs are shared


def test_cleanup_stops_at_its_time_limit_and_lists_what_it_could_not_confirm_gone() -> None:
    client, store = in_process()
    with client:
        sid = client.create().json()["sessionId"]
        store.lying_deletes.add(sid)  # acknowledged, but still there: cleanup keeps looking until its limit
        started = time.monotonic()
        hygiene = client.cleanup(timeout=0.5)
    assert time.monotonic() - started < BOUND
    assert hygiene.left_behind == [sid] and hygiene.deleted == 1 and "time limit of 0.5 s" in hygiene.stopped


def test_a_second_interrupt_skips_cleanup_and_every_id_is_reported() -> None:
    abort = CancelToken()
    client, store = in_process()
    with client:
        made = sorted(client.create().json()["sessionId"] for _ in range(3))
        abort.cancel("second Ctrl-C")
        hygiene = client.cleanup(abort=abort)
    assert hygiene.left_behind == made and hygiene.deleted == 0 and "second Ctrl-C" in hygiene.stopped
    assert len(store.sessions) == 3


def test_a_second_interrupt_during_cleanup_stops_it_soon() -> None:
    abort = CancelToken()
    client, store = in_process()
    with client:
        sid = client.create().json()["sessionId"]
        store.lying_deletes.add(sid)  # cleanup would re-check it for SETTLE_BOUND s, within its 60 s limit
        outcome: list[Hygiene] = []
        error, after_abort = ends_soon(lambda: outcome.append(client.cleanup(timeout=60.0, abort=abort)), 0.3, abort)
    assert error is None and after_abort < BOUND
    assert outcome[0].left_behind == [sid] and "skipped (test stop)" in outcome[0].stopped


def test_read_your_writes_polling_ends_soon_after_cancel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transports, "VISIBILITY_BOUND", 600.0)
    token = CancelToken()
    client, store = in_process(cancel=token)
    store.hidden_reads = 10**9  # never visible: the read-back would poll for VISIBILITY_BOUND s
    with client:
        error, after_cancel = ends_soon(client.create, 0.3, token)
    assert isinstance(error, Cancelled) and after_cancel < BOUND
    assert client.writes.checked == 0 and len(client.live) == 1  # no verdict on a write not seen to the end


def test_cleanup_looks_for_creates_whose_answer_never_came() -> None:
    store = Store()
    kept, lost = str(uuid.uuid4()), str(uuid.uuid4())

    def flaky(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            if request.url.path.endswith(kept):
                store(request)  # made, but the answer is lost
            raise httpx.ReadError("connection reset", request=request)
        return store(request)

    with ContractClient("http://target", transport=httpx.MockTransport(flaky)) as client:
        for sid in (kept, lost):
            client.sessions.reserved.add(uuid.UUID(sid))
            with pytest.raises(TransportFailure):
                client.create_with_id(sid)
        with pytest.raises(TransportFailure):
            client.create()
        hygiene = client.cleanup(timeout=10.0)
    assert hygiene.left_behind == [] and store.sessions == {}
    assert (hygiene.created, hygiene.deleted, hygiene.unknown) == (1, 1, 1)
    assert "1 creates got no answer" in hygiene.summary()


def test_the_client_owns_no_threads_that_outlive_a_request_unless_daemon() -> None:
    client, _ = in_process()
    with client:
        sid = client.create().json()["sessionId"]
        client.patch(sid, {"a": 1})
        client.cleanup()
    assert not [t for t in threading.enumerate() if t.name.startswith("contract-") and not t.daemon]



def test_helper_threads_are_daemons_reused_while_busy_and_gone_when_idle() -> None:
    workers = daemons.DaemonWorkers("contract-test-helper", linger=0.2)
    seen: list[threading.Thread] = []

    def job(done: threading.Event) -> Callable[[], None]:
        def run() -> None:
            seen.append(threading.current_thread())
            done.set()
        return run

    for _ in range(2):
        done = threading.Event()
        workers.submit(job(done))
        assert done.wait(BOUND)
        time.sleep(0.01)  # let the thread report itself idle
    assert seen[0] is seen[1] and seen[0].daemon
    seen[0].join(BOUND)
    assert not seen[0].is_alive()


def test_a_get_or_head_whose_connection_broke_is_sent_once_more_but_a_write_is_not() -> None:
    from contract_tests.transports import RetrySafe

    attempts: list[str] = []

    def flaky(request: httpx.Request) -> httpx.Response:
        attempts.append(request.method)
        if attempts.count(request.method) == 1:
            raise httpx.ReadError("[Errno 104] Connection reset by peer", request=request)
        return httpx.Response(200)

    with httpx.Client(transport=RetrySafe(httpx.MockTransport(flaky)), base_url="http://t") as http:
        assert http.get("/x").status_code == 200 and http.head("/x").status_code == 200
        with pytest.raises(httpx.ReadError):
            http.delete("/x")
    assert attempts == ["GET", "GET", "HEAD", "HEAD", "DELETE"]

    def slow(request: httpx.Request) -> httpx.Response:
        attempts.append("slow")
        raise httpx.ReadTimeout("deadline", request=request)

    with httpx.Client(transport=RetrySafe(httpx.MockTransport(slow)), base_url="http://t") as http, pytest.raises(httpx.ReadTimeout):
        http.get("/x")
    assert attempts.count("slow") == 1  # a timeout is the user's deadline: never retried


def test_every_answer_has_its_elapsed_time_as_schemathesis_reads_it(base_url: str) -> None:
    """Layers that read an answer's body (tracking, read-your-writes) read a copy: the answer reaches
    the caller unread, and httpx sets `.elapsed` when it reads it."""
    with ContractClient(base_url) as contract:
        created = contract.create()
        sid = created.json()["sessionId"]
        answers = [created, contract.patch(sid, {"a": 1}), contract.get(sid), contract.head(sid), contract.delete(sid)]
        assert all(answer.elapsed.total_seconds() >= 0 for answer in answers)
        assert contract.created_count() == 1


def test_a_sample_whose_read_back_was_throttled_is_discarded() -> None:
    """A 429 to the GET or HEAD right after a write tells nothing about the write: the sample is not
    recorded (the measurement takes another), neither as a miss nor as a visible write."""
    sid = str(uuid.uuid4())

    def throttling(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(201, json={"sessionId": sid, "message": "created"})
        return httpx.Response(429, json={"detail": "slow down"})

    ledger = WriteLedger()
    http = httpx.Client(base_url="http://target")
    layer = ReadYourWrites(httpx.MockTransport(throttling), ledger, http.build_request, lambda r: "curl")
    send(layer, "POST", SESSION_PATH, extensions={transports.SAMPLE: True})
    assert ledger.kinds["create"].checked == 0 and ledger.misses == []


def test_each_thread_sends_on_a_connection_pool_of_its_own_and_keeps_its_connection_warm() -> None:
    """httpcore's shared pool could close a connection it had just handed to another thread's request (its
    keep-alive ran out before the request marked it active): EBADF on an answered request, a false failure
    about once in 50 default runs. Each thread now has its own pool, which only that thread touches."""
    from reference_impl import create_app
    from reference_impl.serving import LiveServer

    network = transports.Network(httpx.Limits(max_connections=None, max_keepalive_connections=None, keepalive_expiry=2.0))
    pools: dict[str, Any] = {}

    def twice(name: str, base_url: str) -> None:
        for _ in range(2):
            response = network.handle_request(httpx.Request("GET", f"{base_url}/health"))
            response.read()
            response.close()
        pools[name] = network.client._transport._pool  # type: ignore[attr-defined]

    with LiveServer(create_app()) as server:
        threads = [threading.Thread(target=twice, args=(name, server.base_url)) for name in ("a", "b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert pools["a"] is not pools["b"]
        assert [len(pools[name].connections) for name in ("a", "b")] == [1, 1]  # each reused its one connection
    network.close()
    with pytest.raises(httpx.TransportError, match="closed"):
        network.handle_request(httpx.Request("GET", "http://127.0.0.1:9/health"))
