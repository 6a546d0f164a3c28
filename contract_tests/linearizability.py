"""A linearizability checker for histories of session operations.

A history is a list of completed operations, each with the time its request started and the time
its answer arrived. It is linearizable if every operation can be given one instant between its start
and end such that, taken in that order, the answers are those of the sequential model of a session
(`step`). The search is Wing and Gong's (J. Parallel Distrib. Comput., 1993) with Lowe's memoisation
of (set of linearized operations, model state) pairs (Lowe, "Testing for linearizability", 2017),
the approach of Knossos and Porcupine. Sessions are independent, so the history is partitioned by
session id and each partition is checked on its own (linearizability is local: Herlihy & Wing 1990).

When a partition is not linearizable, `explain` finds a smallest set of its operations that no order
explains from any state the session could have been in, among the sets that hold every operation
overlapping (or lying in time between) any two of theirs: a witness never leaves out what explains it.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

State = str | None  # the session's data as canonical JSON, or None when it does not exist
ABSENT: State = None
EMPTY: State = "{}"


def canonical(data: dict[str, Any]) -> str:
    """Hashable, order-free form of a data object; 1 and 1.0 stay distinct."""
    return json.dumps(data, sort_keys=True, ensure_ascii=True)


@dataclass(frozen=True)
class Operation:
    """One request and its answer.

    `kind` is create (create-with-id), get, head, patch or delete; `argument` is a PATCH's data;
    `observed` is a GET's data (None when its answer had none: then only existence is checked);
    times are `time.monotonic()` seconds.
    """

    kind: str
    sid: str
    status: int
    start: float
    end: float
    argument: dict[str, Any] | None = None
    observed: dict[str, Any] | None = None
    client: int = 0
    curl: str = ""

    def describe(self, origin: float = 0.0) -> str:
        what = {"create": "create-with-id", "get": "GET", "head": "HEAD", "patch": "PATCH", "delete": "DELETE"}[self.kind]
        detail = ""
        if self.kind == "patch":
            detail = f" {json.dumps(self.argument)}"
        elif self.kind == "get" and self.observed is not None:
            detail = f" data {json.dumps(self.observed)}"
        span = f"[{(self.start - origin) * 1000:.1f} ms .. {(self.end - origin) * 1000:.1f} ms]"
        return f"client {self.client} {span} {what} -> {self.status}{detail}"


def step(state: State, op: Operation) -> tuple[bool, State]:
    """The sequential model: (whether `op`'s answer is possible in `state`, the state after it)."""
    live = state is not None
    if op.kind == "create":
        if op.status == 201 and not live:
            return True, EMPTY
        return (op.status == 409 and live), state
    if op.kind == "get":
        if op.status == 404:
            return not live, state
        # A GET answering no `data` (get.shape's concern) still tells that the session exists.
        return (op.status == 200 and live and (op.observed is None or canonical(op.observed) == state)), state
    if op.kind == "head":
        return (op.status == 204 if live else op.status == 404), state
    if op.kind == "patch":
        if op.status == 200 and live and op.argument is not None:
            merged = json.loads(state)  # type: ignore[arg-type]
            merged.update(op.argument)
            return True, canonical(merged)
        return (op.status == 404 and not live), state
    if op.kind == "delete":
        if op.status == 200 and live:
            return True, ABSENT
        return (op.status == 404 and not live), state
    return False, state


@dataclass
class _Entry:
    """One call or return event in the doubly linked list of the search."""

    index: int
    time: float
    is_call: bool
    match: _Entry | None = None
    prev: _Entry | None = None
    next: _Entry | None = None


def _event_list(ops: list[Operation]) -> _Entry:
    """Calls and returns in time order (a call before a return at the same instant: they overlap)."""
    events: list[_Entry] = []
    for index, op in enumerate(ops):
        call, ret = _Entry(index, op.start, True), _Entry(index, op.end, False)
        call.match = ret
        events += [call, ret]
    events.sort(key=lambda e: (e.time, not e.is_call))
    head = _Entry(-1, float("-inf"), False)
    previous = head
    for event in events:
        previous.next, event.prev = event, previous
        previous = event
    return head


def _lift(call: _Entry) -> None:
    """Take a call and its return out of the list."""
    for entry in (call, call.match):
        assert entry is not None and entry.prev is not None
        entry.prev.next = entry.next
        if entry.next is not None:
            entry.next.prev = entry.prev


def _unlift(call: _Entry) -> None:
    for entry in (call.match, call):
        assert entry is not None and entry.prev is not None
        entry.prev.next = entry
        if entry.next is not None:
            entry.next.prev = entry


@dataclass
class SearchResult:
    """Whether the operations are linearizable, and every (linearized set, state) the search reached."""

    ok: bool
    states: set[State] = field(default_factory=set)
    order: list[int] = field(default_factory=list)


def search(ops: list[Operation], initial: State = ABSENT, deadline: float | None = None) -> SearchResult:
    """Wing & Gong's search with Lowe's cache, for the operations on ONE session from `initial`.

    `order` is a linearization when one exists. Raises TimeoutError past `deadline` (monotonic seconds).
    """
    if not ops:
        return SearchResult(True, {initial})
    head = _event_list(ops)
    state: State = initial
    linearized = 0
    cache: set[tuple[int, State]] = set()
    calls: list[tuple[_Entry, State]] = []
    states: set[State] = {initial}
    entry = head.next
    steps = 0
    while head.next is not None:
        assert entry is not None
        steps += 1
        if deadline is not None and steps % 1024 == 0 and time.monotonic() > deadline:
            raise TimeoutError("linearizability search took too long")
        if entry.is_call:
            possible, after = step(state, ops[entry.index])
            if possible:
                key = (linearized | (1 << entry.index), after)
                if key not in cache:
                    cache.add(key)
                    states.add(after)
                    calls.append((entry, state))
                    state, linearized = after, key[0]
                    _lift(entry)
                    entry = head.next
                    continue
            entry = entry.next
        else:
            # A return reached with its call not yet linearized: undo the last choice.
            if not calls:
                return SearchResult(False, states)
            entry, state = calls.pop()
            linearized &= ~(1 << entry.index)
            _unlift(entry)
            entry = entry.next
    return SearchResult(True, states, [call.index for call, _ in calls])


def partition(ops: Iterable[Operation]) -> dict[str, list[Operation]]:
    """Operations grouped by session id (in start order)."""
    groups: dict[str, list[Operation]] = defaultdict(list)
    for op in sorted(ops, key=lambda o: o.start):
        groups[op.sid].append(op)
    return dict(groups)


@dataclass
class Violation:
    """A session whose history no order explains, and a smallest unexplained set of its operations."""

    sid: str
    operations: list[Operation]
    history_size: int


def _unexplained(ops: list[Operation], starts: Iterable[State], deadline: float) -> bool:
    return not any(search(ops, start, deadline).ok for start in starts)


def closed(ops: list[Operation], members: Iterable[Operation]) -> list[Operation]:
    """`members` with every operation of `ops` that overlaps in time the span from the earliest start to
    the latest end among them, repeated until nothing more overlaps: so the set holds every operation that
    overlaps any operation in it, and every one that could have taken effect between two of them."""
    chosen = list(members)
    low, high = min(op.start for op in chosen), max(op.end for op in chosen)
    while True:
        chosen = [op for op in ops if op.start <= high and op.end >= low]
        span = min(op.start for op in chosen), max(op.end for op in chosen)
        if span == (low, high):
            return chosen
        low, high = span


def explain(ops: list[Operation], initial: State = ABSENT, budget: float = 5.0) -> list[Operation]:
    """A smallest subset of a non-linearizable history that is not linearizable on its own, from any state
    the session reached in the search (or `initial`, absent, empty), among the subsets `closed` under
    overlap: a subset never leaves out an operation that overlaps one in it, or that lies in time between
    two of them, so no operation an explanation needs is dropped (dropping the create-with-id between a
    DELETE and a GET would make the GET look unexplained). Candidates are the closed spans from each
    operation's start to each later operation's end, smallest first; past `budget` seconds the smallest
    found so far (or the whole history) is returned."""
    deadline = time.monotonic() + budget
    ordered = sorted(ops, key=lambda o: o.start)
    if not ordered:
        return []
    candidates: dict[frozenset[int], list[Operation]] = {}
    for first in range(len(ordered)):
        for last in range(first, len(ordered)):
            members = closed(ordered, [ordered[first], ordered[last]])
            candidates.setdefault(frozenset(id(op) for op in members), members)
    try:
        starts = search(ordered, initial, deadline).states | {initial, ABSENT, EMPTY}
        for members in sorted(candidates.values(), key=lambda m: (len(m), m[0].start)):
            if _unexplained(members, starts, deadline):
                return members
    except TimeoutError:
        pass
    return ordered


def check(ops: Iterable[Operation], initial: State = ABSENT, budget: float = 20.0) -> list[Violation]:
    """Every session (partition) whose history is not linearizable from `initial`, each explained."""
    violations: list[Violation] = []
    deadline = time.monotonic() + budget
    for sid, group in partition(ops).items():
        try:
            ok = search(group, initial, deadline).ok
        except TimeoutError:
            continue  # undecided within the budget: not reported as a violation
        if not ok:
            violations.append(Violation(sid, explain(group, initial), len(group)))
    return violations
