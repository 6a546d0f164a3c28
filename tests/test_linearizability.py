"""The linearizability checker on hand-made histories: ones some order explains, and ones none does."""

from __future__ import annotations

from typing import Any

from contract_tests.linearizability import ABSENT, EMPTY, Operation, canonical, check, closed, explain, search, step

A = "00000000-0000-4000-8000-00000000000a"
B = "00000000-0000-4000-8000-00000000000b"


def op(kind: str, status: int, start: float, end: float, sid: str = A, data: dict[str, Any] | None = None) -> Operation:
    return Operation(kind, sid, status, start, end, argument=data if kind == "patch" else None,
                     observed=data if kind == "get" else None)


def test_the_sequential_model_answers_like_the_contract() -> None:
    assert step(ABSENT, op("create", 201, 0, 1)) == (True, "{}")
    assert step("{}", op("create", 409, 0, 1)) == (True, "{}")
    assert step(ABSENT, op("create", 409, 0, 1))[0] is False
    assert step('{"a": 1}', op("patch", 200, 0, 1, data={"b": 2})) == (True, canonical({"a": 1, "b": 2}))
    assert step('{"a": 1}', op("get", 200, 0, 1, data={"a": 1.0}))[0] is False  # 1 is not 1.0
    assert step("{}", op("delete", 200, 0, 1)) == (True, ABSENT)
    assert step(ABSENT, op("head", 404, 0, 1)) == (True, ABSENT)
    assert step("{}", op("get", 500, 0, 1))[0] is False


def test_a_sequential_history_is_linearizable() -> None:
    history = [op("create", 201, 0, 1), op("patch", 200, 2, 3, data={"a": 1}), op("get", 200, 4, 5, data={"a": 1}),
               op("delete", 200, 6, 7), op("head", 404, 8, 9), op("create", 201, 10, 11), op("get", 200, 12, 13, data={})]
    result = search(history)
    assert result.ok and sorted(result.order) == list(range(len(history)))
    assert check(history) == []


def test_overlapping_operations_may_take_effect_in_either_order() -> None:
    # The GET started before the create answered, so 404 (GET first) is as good as 200 (create first).
    assert check([op("get", 404, 0.5, 2), op("create", 201, 0, 1)]) == []
    # A read inside a long write may see the new value; a later read must see it too.
    assert check([op("create", 201, 0, 1), op("patch", 200, 2, 10, data={"x": 1}), op("get", 200, 3, 4, data={"x": 1}),
                  op("get", 200, 11, 12, data={"x": 1})]) == []
    # Two overlapping PATCHes of one key: the later read decides the order.
    assert check([op("create", 201, 0, 1), op("patch", 200, 2, 5, data={"k": 1}), op("patch", 200, 2, 5, data={"k": 2}),
                  op("get", 200, 6, 7, data={"k": 1})]) == []


def test_a_read_that_misses_an_acknowledged_create_is_rejected() -> None:
    violations = check([op("create", 201, 0, 1), op("get", 404, 2, 3)])
    assert len(violations) == 1 and violations[0].sid == A
    assert [o.kind for o in violations[0].operations] == ["create", "get"]


def test_a_stale_read_after_a_patch_is_rejected_and_explained_by_two_operations() -> None:
    history = [op("create", 201, 0, 1), op("get", 200, 1.5, 1.8, data={}), op("patch", 200, 2, 3, data={"a": 1}),
               op("head", 204, 3.5, 3.6), op("get", 200, 4, 5, data={})]
    (violation,) = check(history)
    assert violation.history_size == 5
    # The HEAD between them stays in the witness: a witness holds every operation in its span.
    assert [(o.kind, o.start) for o in violation.operations] == [("patch", 2), ("head", 3.5), ("get", 4)]


def test_a_lost_update_is_rejected() -> None:
    history = [op("create", 201, 0, 1), op("patch", 200, 2, 4, data={"a": 1}), op("patch", 200, 2, 4, data={"b": 2}),
               op("get", 200, 5, 6, data={"b": 2})]
    (violation,) = check(history)
    kinds = sorted((o.kind, str(o.argument)) for o in violation.operations)
    assert kinds == [("get", "None"), ("patch", "{'a': 1}"), ("patch", "{'b': 2}")]  # the overlapping PATCH stays too


def test_two_deletes_both_answering_200_without_a_create_between_are_rejected() -> None:
    assert check([op("create", 201, 0, 1), op("delete", 200, 2, 4), op("delete", 200, 2, 4)])
    # ... but a create in between explains them.
    assert check([op("create", 201, 0, 1), op("delete", 200, 2, 4), op("delete", 200, 2, 4), op("create", 201, 2, 4),
                  op("get", 404, 5, 6)]) == []


def test_a_resurrected_session_is_rejected() -> None:
    # create-with-id and DELETE overlap; the DELETE answered 200, yet the session is there afterwards with no other create.
    history = [op("create", 201, 0, 2), op("delete", 200, 1, 3), op("get", 200, 4, 5, data={})]
    assert check(history)


def test_histories_are_checked_per_session() -> None:
    history = [op("create", 201, 0, 1, sid=A), op("create", 201, 0, 1, sid=B), op("get", 404, 2, 3, sid=B),
               op("get", 200, 2, 3, sid=A, data={})]
    violations = check(history)
    assert [v.sid for v in violations] == [B]


def test_explain_keeps_only_operations_each_of_which_is_needed() -> None:
    noise = [op("head", 204, 10 + i, 10.5 + i) for i in range(20)]
    history = [op("create", 201, 0, 1), *noise, op("delete", 200, 40, 41), op("get", 200, 42, 43, data={})]
    kept = explain(history)
    assert [o.kind for o in kept] == ["delete", "get"]
    assert not search(kept, "{}").ok and not search(kept, ABSENT).ok


def test_a_witness_never_drops_the_create_that_explains_a_read() -> None:
    """Issue 18's history: DELETE 200, a create-with-id 201 of that id, a GET 200 72 ms after the DELETE,
    then two DELETE 200s 20 ms apart. "DELETE 200, then GET 200 72 ms later" is no witness: the create
    between them explains the GET. The true one is the two DELETEs, each printed with start and end."""
    ms = 0.001
    first_delete = op("delete", 200, 0 * ms, 3 * ms)
    create = op("create", 201, 10 * ms, 13 * ms)
    get = op("get", 200, 72 * ms, 75 * ms, data={})
    deletes = [op("delete", 200, 90 * ms, 93 * ms), op("delete", 200, 113 * ms, 116 * ms)]
    history = [op("create", 201, -50 * ms, -47 * ms), first_delete, create, get, *deletes]
    (violation,) = check(history)
    assert violation.operations == deletes
    assert closed(history, [first_delete, get]) == [first_delete, create, get]
    assert search([first_delete, create, get], EMPTY).ok  # explained once the create is kept
    origin = violation.operations[0].start
    assert violation.operations[1].describe(origin) == "client 0 [23.0 ms .. 26.0 ms] DELETE -> 200"


def test_a_witness_holds_every_operation_overlapping_any_of_its_own() -> None:
    history = [op("create", 201, 0, 1), op("delete", 200, 2, 4), op("head", 204, 3.9, 6), op("get", 404, 5.5, 7),
               op("delete", 200, 8, 9)]
    (violation,) = check(history)
    kept = violation.operations
    for member in kept:
        assert all(other in kept for other in history if other.start <= member.end and other.end >= member.start)
    assert not any(search(kept, start).ok for start in (ABSENT, EMPTY))


def test_the_witness_of_a_read_of_a_never_created_session_keeps_the_later_create() -> None:
    """Found by a random search against the former shrinking (which dropped one operation at a time): it
    printed "DELETE 200, then GET 200" and left out the create-with-id 201 between them that explains
    that GET. The fault is the first GET 200 of a session never created; no part of the history shows it
    from every state the session could be in, so the witness is the whole history, create included."""
    history = [op("get", 200, 4, 6, data={}), op("delete", 200, 4, 5), op("delete", 404, 5, 7), op("create", 201, 15, 18),
               op("get", 200, 20, 22, data={})]
    (violation,) = check(history)
    assert any(o.kind == "create" for o in violation.operations)
    assert sorted(violation.operations, key=lambda o: o.start) == sorted(history, key=lambda o: o.start)
