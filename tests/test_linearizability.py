"""The linearizability checker on hand-made histories: ones some order explains, and ones none does."""

from __future__ import annotations

from typing import Any

from contract_tests.linearizability import ABSENT, Operation, canonical, check, explain, search, step

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
    assert [(o.kind, o.start) for o in violation.operations] == [("patch", 2), ("get", 4)]


def test_a_lost_update_is_rejected() -> None:
    history = [op("create", 201, 0, 1), op("patch", 200, 2, 4, data={"a": 1}), op("patch", 200, 2, 4, data={"b": 2}),
               op("get", 200, 5, 6, data={"b": 2})]
    (violation,) = check(history)
    kinds = sorted((o.kind, str(o.argument)) for o in violation.operations)
    assert kinds == [("get", "None"), ("patch", "{'a': 1}")]


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
