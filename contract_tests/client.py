"""The one HTTP client that talks to the target: headers, rate limit, ownership and write checks.

Every request of the run goes through `ContractClient.request`, which
- adds the user's `--header`s and keeps their values out of every rendering (`curl`, reports);
- waits as needed to stay under `--max-rps`;
- refuses to PATCH or DELETE a session the run did not create (or reserve as a fresh random id);
- records every session the run created, so `cleanup()` can delete them all at the end;
- checks read-your-writes after EVERY acknowledged write: the next request must see it.
"""

from __future__ import annotations

import shlex
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from contract_tests.redaction import REDACTED, Redactor

SESSION_PATH = "/api/v1/session"
WRITE_METHODS = {"POST", "PATCH", "DELETE"}


class UnsafeRequest(Exception):
    """The run was about to change a session it did not create."""


def session_id_in(path: str) -> str | None:
    """The raw `{session_id}` segment of a session path, or None for other paths."""
    prefix = SESSION_PATH + "/"
    if not path.startswith(prefix):
        return None
    return path[len(prefix):]


def as_uuid(raw: str) -> uuid.UUID | None:
    """The UUID a raw id spells (any spelling Python accepts), or None."""
    try:
        return uuid.UUID(raw)
    except (ValueError, TypeError, AttributeError):
        return None


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


@dataclass
class WriteLedger:
    """How many acknowledged writes were checked, and which ones were not visible at once."""

    checked: int = 0
    misses: list[WriteMiss] = field(default_factory=list)


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
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.user_headers = dict(headers or {})
        self.redact = redactor or Redactor()
        for value in self.user_headers.values():
            self.redact.add(value)
        self.limiter = RateLimiter(max_rps, burst)
        self.verify_writes = verify_writes
        # Keep a connection alive per parallel request (`burst`, --concurrency): with httpx's default of 20,
        # runs of 24 threads closed and reopened connections on every request, and a busy machine then saw EBADF.
        limits = httpx.Limits(max_connections=max(100, burst), max_keepalive_connections=max(20, burst))
        self.http = httpx.Client(base_url=self.base_url, headers=self.user_headers, timeout=timeout, limits=limits)
        self.request_count = 0
        self.writes = WriteLedger()
        self.live: set[uuid.UUID] = set()
        self.deleted: set[uuid.UUID] = set()
        self.reserved: set[uuid.UUID] = set()
        self._lock = threading.Lock()
        self._local = threading.local()

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
        """Send one request to the target; the answer's `.request` can be rendered with `curl()`."""
        method = method.upper()
        self._guard(method, path)
        self.limiter.wait()
        kwargs: dict[str, Any] = {"headers": dict(headers or {}), "params": params}
        if json is not None:
            kwargs["json"] = json
        elif content is not None:
            kwargs["content"] = content
        with self._lock:
            self.request_count += 1
        response = self.http.request(method, path, **kwargs)
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

    def create_with_id(self, sid: str) -> httpx.Response:
        return self.request("POST", f"{SESSION_PATH}/{sid}")

    def get(self, sid: str) -> httpx.Response:
        return self.request("GET", f"{SESSION_PATH}/{sid}")

    def head(self, sid: str) -> httpx.Response:
        return self.request("HEAD", f"{SESSION_PATH}/{sid}")

    def patch(self, sid: str, data: Any) -> httpx.Response:
        return self.request("PATCH", f"{SESSION_PATH}/{sid}", json={"data": data})

    def delete(self, sid: str) -> httpx.Response:
        return self.request("DELETE", f"{SESSION_PATH}/{sid}")

    # --- read-your-writes -------------------------------------------------------------------

    def _check_visible(self, method: str, path: str, response: httpx.Response, body: Any) -> None:
        """Right after an acknowledged write, GET (and HEAD) must show it."""
        raw = session_id_in(path)
        if method == "POST" and raw is None:
            try:
                raw = str(response.json()["sessionId"])
            except (ValueError, KeyError, TypeError):
                return
        sid = as_uuid(raw) if raw is not None else None
        if sid is None:
            return
        target = f"{SESSION_PATH}/{sid}"
        get = self.request("GET", target, check_write=False)
        observed: str | None = None
        if method == "DELETE":
            head = self.request("HEAD", target, check_write=False)
            if get.status_code != 404 or head.status_code != 404:
                observed = f"GET answered {get.status_code} and HEAD {head.status_code} right after DELETE answered {response.status_code}"
        elif method == "POST":
            head = self.request("HEAD", target, check_write=False)
            if get.status_code != 200 or head.status_code != 204:
                observed = f"GET answered {get.status_code} and HEAD {head.status_code} right after create answered {response.status_code}"
        elif method == "PATCH" and isinstance(body, dict) and isinstance(body.get("data"), dict):
            data = data_of(get)
            if get.status_code != 200:
                observed = f"GET answered {get.status_code} right after PATCH answered {response.status_code}"
            elif data is not None and any(data.get(k) != v for k, v in body["data"].items()):
                observed = "GET right after PATCH does not show the patched keys"
        with self._lock:
            self.writes.checked += 1
            if observed is not None:
                self.writes.misses.append(WriteMiss(f"{method} {target}", observed, self.curl(get.request)))

    # --- rendering and cleanup --------------------------------------------------------------

    def curl(self, request: httpx.Request | None) -> str:
        """A `curl` command reproducing `request`, with every header value redacted."""
        if request is None:
            return "(no request)"
        parts = ["curl", "-i"]
        if request.method == "HEAD":
            parts.append("-I")
        elif request.method != "GET":
            parts += ["-X", request.method]
        parts.append(shlex.quote(str(request.url)))
        for name in self.user_headers:
            parts += ["-H", shlex.quote(f"{name}: {REDACTED}")]
        body = request.content
        if body:
            content_type = request.headers.get("content-type")
            if content_type:
                parts += ["-H", shlex.quote(f"Content-Type: {content_type}")]
            parts += ["--data-raw", shlex.quote(body.decode("utf-8", "replace"))]
        return self.redact(" ".join(parts))

    def cleanup(self) -> tuple[int, list[str]]:
        """Delete every session the run created and still holds; (deleted, ids left behind)."""
        with self._lock:
            pending = sorted(self.live, key=str)
        left: list[str] = []
        deleted = 0
        for sid in pending:
            try:
                response = self.request("DELETE", f"{SESSION_PATH}/{sid}", check_write=False)
                if response.status_code in (200, 204):
                    deleted += 1
                elif response.status_code != 404:
                    left.append(str(sid))
                    continue
                if self.request("HEAD", f"{SESSION_PATH}/{sid}", check_write=False).status_code != 404:
                    left.append(str(sid))
                else:
                    with self._lock:
                        self.live.discard(sid)
                        self.deleted.add(sid)
            except httpx.HTTPError:
                left.append(str(sid))
        return deleted, left

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> "ContractClient":
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
