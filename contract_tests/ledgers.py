"""What the client tallies for the reports: requests per property, read-your-writes per write kind, and cleanup."""

from __future__ import annotations

import dataclasses
import threading
import uuid
from dataclasses import dataclass, field

from contract_tests.rates import Rate, window_text
from contract_tests.scripts import SentRequest

# The kinds of write whose read-your-writes is recorded; the check that reports each kind declares it
# (`measures=` in contract_tests.checks.semantics).
WRITE_KINDS: tuple[str, ...] = ("create", "create-with-id", "patch", "delete")
VISIBILITY_BOUND = 3.0  # seconds a missed write is polled for before it counts as never visible


class RequestCounter:
    """Requests sent, in all and per contract property, and (when `log` is a list) one line per request."""

    def __init__(self) -> None:
        self.total = 0
        self.by_property: dict[str, int] = {}
        self.log: list[str] | None = None  # "PROPERTY METHOD path" of every request, when recording
        self._lock = threading.Lock()

    def count(self, charged: str, line: str) -> None:
        with self._lock:
            self.total += 1
            self.by_property[charged] = self.by_property.get(charged, 0) + 1
            if self.log is not None:
                self.log.append(line)


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
        """`k of N (r %; 95 % interval ...) not visible at once; window median M ms, p95 P ms, max X ms[; J never
        within B s]`, or `0 of N (below B % at 95 % confidence) ...`."""
        text = f"{Rate(len(self.misses), self.checked).text()} not visible at once"
        windows = self.windows()
        if windows:
            text += f"; {window_text(windows)}"
        never = len(self.misses) - len(windows)
        if never:
            text += f"; {never} not visible within {VISIBILITY_BOUND:g} s"
        return text


@dataclass
class WriteLedger:
    """Read-your-writes per write kind (see WRITE_KINDS); `record` is thread-safe."""

    kinds: dict[str, KindLedger] = field(default_factory=lambda: {kind: KindLedger() for kind in WRITE_KINDS})
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def checked(self) -> int:
        return sum(k.checked for k in self.kinds.values())

    @property
    def misses(self) -> list[WriteMiss]:
        return [m for k in self.kinds.values() for m in k.misses]

    def record(self, kind: str, miss: WriteMiss | None) -> None:
        with self._lock:
            ledger = self.kinds[kind]
            ledger.checked += 1
            if miss is not None:
                ledger.misses.append(miss)


@dataclass
class Hygiene:
    """What the run left on the target: sessions it created, deleted, and still found afterwards.

    `left_behind` holds only ids known to be there or not confirmed gone; `unknown` counts creates whose
    answer never came, so their ids (if they were made at all) cannot be known."""

    created: int = 0
    deleted: int = 0
    left_behind: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # cleanup requests that got no answer
    unknown: int = 0
    stopped: str = ""  # why cleanup stopped before it was done (its time limit, a second interrupt)

    def summary(self) -> str:
        text = f"{self.created} sessions created, {len(self.left_behind)} left behind"
        if self.left_behind:
            text += f" ({', '.join(self.left_behind[:5])}{', ...' if len(self.left_behind) > 5 else ''})"
        if self.unknown:
            text += f"; {self.unknown} creates got no answer (their ids, if made, are unknown)"
        if self.stopped:
            text += f"; cleanup stopped: {self.stopped}"
        return text


class RequestsBySession:
    """The requests the checks sent on each session (not the client's read-backs), in order, at most
    `limit` per session: a failure's replay script is built from them; thread-safe."""

    def __init__(self, limit: int = 200) -> None:
        self.limit = limit
        self._by_session: dict[uuid.UUID, list[SentRequest]] = {}
        self._lock = threading.Lock()
        self._answers = 0  # answers recorded so far: each request's `seq`

    def record(self, sid: uuid.UUID, request: SentRequest) -> None:
        with self._lock:
            self._answers += 1
            sent = self._by_session.setdefault(sid, [])
            if len(sent) < self.limit:
                sent.append(dataclasses.replace(request, seq=self._answers))

    def of(self, sid: uuid.UUID) -> list[SentRequest]:
        with self._lock:
            return list(self._by_session.get(sid, []))
class ThrottleLedger:
    """How much throttling the run met: answers a gateway gave instead of the API's (429, or 503 to a GET or
    HEAD, with `Retry-After`), the wall-clock seconds the client held back for them, and why it gave up
    waiting, if it did."""

    def __init__(self) -> None:
        self.throttled = 0
        self.waited = 0.0
        self.gave_up: list[str] = []
        self._held_until = 0.0
        self._lock = threading.Lock()

    def record(self, now: float, delay: float) -> None:
        """One throttled answer telling the client to wait `delay` s from `now` (time.monotonic()); waits
        that overlap (parallel requests told at once) count once."""
        with self._lock:
            self.throttled += 1
            end = now + delay
            if end > self._held_until:
                self.waited += end - max(now, self._held_until)
                self._held_until = end

    def give_up(self, reason: str) -> None:
        with self._lock:
            self.gave_up.append(reason)

    def summary(self, rate: float = 0.0) -> str:
        text = f"throttled {self.throttled} request{'s' * (self.throttled != 1)}, waited {self.waited:.0f} s"
        if rate > 0:
            text += f"; request rate lowered to {rate:.3g}/s"
        if self.gave_up:
            text += f"; gave up {len(self.gave_up)} time{'s' * (len(self.gave_up) != 1)}: {self.gave_up[0]}"
        return text
