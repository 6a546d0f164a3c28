"""The compiled validators (connexion_speedups.validators) give the stock Connexion verdicts.

The fast path decides validity with jsonschema-rs; Connexion's own validators (Python jsonschema,
Draft 4 with its format checker) are the reference. Hypothesis feeds both the same values, shaped
after each schema of openapi.yaml so that most of them come close to valid.
"""

from __future__ import annotations

from typing import Any

import pytest
from connexion.json_schema import Draft4RequestValidator, Draft4ResponseValidator
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft4Validator

from connexion_speedups.validators import compile_check
from session_spec import load_spec

SCHEMAS: dict[str, dict[str, Any]] = load_spec()["components"]["schemas"]
FORMATS = Draft4Validator.FORMAT_CHECKER

formatted = st.sampled_from([
    "2026-11-28T16:30:00.123456+00:00", "2026-11-28T16:30:00Z", "2026-11-28t16:30:00z", "2026-11-28 16:30:00+00:00",
    "2026-13-28T16:30:00Z", "2026-11-28T24:00:00Z", "2026-11-28T16:30:00", "not-a-date", "OK", "ok", "",
    "123e4567-e89b-42d3-a456-426614174000", "123E4567E89B42D3A456426614174000", "not-a-uuid",
])
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    formatted,
)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=8)


def valid_value(schema: dict[str, Any]) -> Any:
    """A value `schema` accepts, built from its types (enough for the spec's component schemas)."""
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type", "object")
    if kind == "object":
        return {name: valid_value(sub) for name, sub in schema.get("properties", {}).items()}
    if kind == "array":
        return [valid_value(schema["items"])] if "items" in schema and "oneOf" not in schema["items"] else []
    if kind == "integer":
        return 1
    return {"date-time": "2026-11-28T16:30:00.123456+00:00", "uuid": "123e4567-e89b-42d3-a456-426614174000"}.get(
        schema.get("format", ""), "text"
    )


def shaped_after(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A valid value with some properties replaced, dropped or added; or any JSON value."""
    base = valid_value(schema)
    if not isinstance(base, dict) or not base:
        return json_values
    edits = st.dictionaries(
        st.sampled_from([*sorted(base), "extra"]), st.one_of(formatted, formatted, scalars, json_values), min_size=1, max_size=2
    )
    dropped = st.one_of(st.just(set()), st.just(set()), st.sets(st.sampled_from(sorted(base)), max_size=1))

    def edited(changes: dict[str, Any], drop: set[str]) -> dict[str, Any]:
        value = {**base, **changes}
        return {key: item for key, item in value.items() if key not in drop}

    return st.one_of(st.builds(edited, edits, dropped), st.builds(edited, edits, dropped), json_values)


def stock_verdict(schema: dict[str, Any], value: Any, validator: Any) -> bool:
    return bool(validator(schema, format_checker=FORMATS).is_valid(value))


def test_every_schema_of_the_spec_is_compiled() -> None:
    assert all(compile_check(schema) is not None for schema in SCHEMAS.values())


@pytest.mark.parametrize("name", sorted(SCHEMAS))
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_compiled_checks_agree_with_connexions_validators(name: str, data: st.DataObject) -> None:
    schema = SCHEMAS[name]
    value = data.draw(shaped_after(schema))
    check = compile_check(schema)
    assert check is not None
    assert check(value) == stock_verdict(schema, value, Draft4ResponseValidator), (name, value)
    assert check(value) == stock_verdict(schema, value, Draft4RequestValidator), (name, value)


def test_date_time_is_checked_and_uuid_is_not_as_in_connexion() -> None:
    session = SCHEMAS["Session"]
    check = compile_check(session)
    assert check is not None
    valid = {"sessionId": "123e4567-e89b-42d3-a456-426614174000", "data": {}, "createdAt": "2026-11-28T16:30:00.123456+00:00",
             "updatedAt": "2026-11-28T16:30:00.123456+00:00"}
    assert check(valid)
    assert not check({**valid, "createdAt": "yesterday"})
    # Connexion's Draft 4 format checker has no `uuid` format: an id is checked by the handlers.
    assert check({**valid, "sessionId": "not-a-uuid"}) == stock_verdict(session, {**valid, "sessionId": "not-a-uuid"}, Draft4ResponseValidator)


def test_schemas_only_connexion_understands_keep_the_stock_validator() -> None:
    assert compile_check({"type": "string", "nullable": True}) is None
    assert compile_check({"type": "object", "properties": {"a": {"type": "string", "writeOnly": True}}}) is None
    assert compile_check({"type": "string", "pattern": "^a+$"}) is None
