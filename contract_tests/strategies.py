"""Adversarial JSON data for the session's `data` object (Hypothesis strategies), and exact JSON equality.

The values stay within documented limits, so that a failure is the target's and not the generator's:
- nesting at most `MAX_DEPTH` (32) levels of arrays/objects below `data`;
- integers within +-2^64 (plus the boundary values 2^53 +- 1 and 2^63 +- 1, both signs), far inside
  Python's 4,300-digit limit;
- finite floats only (strict JSON has no NaN or Infinity, RFC 8259 section 6);
- strings and keys from every Unicode plane except lone surrogates (which UTF-8 cannot carry);
- `LARGE_PAYLOAD_BYTES` (256 KiB) for the largest body, under the 1 MiB limit deployments may set.

Shared by `data.round-trips-exactly` and the state machine (`model.state-machine`).
"""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import strategies as st

MAX_DEPTH = 32
LARGE_PAYLOAD_BYTES = 256 * 1024

# Characters that break naive storage: astral (emoji, plane 1/2/16), combining marks, zero-width,
# right-to-left and bidi overrides, BOM, line/paragraph separators, NUL, quotes and backslashes.
SPECIAL_CHARACTERS = [
    "\U0001F600", "\U0001F469\u200D\U0001F4BB", "\U00020000", "\U0010FFFD", "\U00010000",
    "e\u0301", "\u0301", "\u200B", "\u200C", "\u200D", "\u2060", "\uFEFF",
    "\u200F", "\u202E", "\u05D0", "\u0627", "\u2028", "\u2029", "\x00", "\x1f", "\"", "\\", "/",
]
# Keys a store may treat specially: paths, operators, the envelope's own field names, empty, prototype names.
SPECIAL_KEYS = [
    "", " ", "a.b", "a..b", ".", "$set", "$", "a/b", "/", "a b", " leading", "trailing ",
    "sessionId", "data", "createdAt", "updatedAt", "message", "detail", "__proto__", "constructor", "null",
]
BOUNDARY_INTEGERS = [
    0, 1, -1, 2**31, 2**32, 2**53 - 1, 2**53, 2**53 + 1, -(2**53) - 1, 2**63 - 1, 2**63, 2**63 + 1,
    -(2**63), -(2**63) - 1, 2**64 - 1, 2**64, -(2**64), 10**19, -(10**19),
]
BOUNDARY_FLOATS = [
    5e-324, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, -1.7976931348623157e308,
    0.1 + 0.2, 1 / 3, 2.0**53 + 2, 1e21, 1e-7, 123456789.12345679, 1.0, -1.5, 0.5,
]

pieces = st.one_of(st.characters(codec="utf-8"), st.sampled_from(SPECIAL_CHARACTERS))  # some are sequences
strings = st.lists(pieces, max_size=10).map("".join)
keys = st.one_of(strings, st.sampled_from(SPECIAL_KEYS))
integers = st.one_of(st.sampled_from(BOUNDARY_INTEGERS), st.integers(-(2**64), 2**64))
floats = st.one_of(st.sampled_from(BOUNDARY_FLOATS), st.floats(allow_nan=False, allow_infinity=False))
scalars = st.one_of(st.none(), st.booleans(), integers, floats, strings)


def nested(depth: int, leaf: Any) -> Any:
    """`leaf` wrapped in `depth` alternating arrays and objects."""
    value = leaf
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


def json_values(max_leaves: int = 12) -> st.SearchStrategy[Any]:
    """Any JSON value: scalars, empty and wide containers, and deep nesting (<= MAX_DEPTH levels)."""
    containers = st.recursive(
        scalars,
        lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
        max_leaves=max_leaves,
    )
    return st.one_of(
        containers,
        st.sampled_from([{}, [], ""]),
        st.builds(nested, st.integers(1, MAX_DEPTH), scalars),
        st.dictionaries(keys, scalars, min_size=20, max_size=60),  # wide
    )


def json_objects(max_size: int = 5, max_leaves: int = 12) -> st.SearchStrategy[dict[str, Any]]:
    """A `data` object (what a client PATCHes)."""
    return st.dictionaries(keys, json_values(max_leaves), max_size=max_size)


def large_payload(size: int = LARGE_PAYLOAD_BYTES) -> dict[str, Any]:
    """A `data` object of about `size` bytes of UTF-8 JSON, mixing every kind of character above."""
    unit = "".join(SPECIAL_CHARACTERS[:19]) + "abc\u00e9\u4e2d"
    chunk = len(json.dumps(unit, ensure_ascii=False).encode())
    count = max(1, size // (chunk * 64))
    return {f"part {index}": [unit] * 64 for index in range(count)} | {"n": 2**63 + 1, "x": 0.1 + 0.2}


# Every kind of value above at least once: the first example of every data fidelity run.
EDGE_CASES: dict[str, Any] = {
    "big": [2**53 + 1, -(2**53) - 1, 2**63, -(2**63) - 1, 2**64],
    "one": 1, "one.0": 1.0, "floats": [5e-324, 1.7976931348623157e308, 0.1 + 0.2, 1e21],
    "text": "".join(SPECIAL_CHARACTERS), "\U0001F600 key\u200F": None, "t": True, "f": False,
    "empty": {"o": {}, "a": [], "s": ""}, "deep": nested(MAX_DEPTH, "bottom"),
    **{key: key for key in SPECIAL_KEYS},
}


def json_equal(left: Any, right: Any) -> bool:
    """Exact JSON equality: same types (1 is not 1.0, true is not 1), same values; key order is not significant."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, float) or isinstance(right, float):
        return type(left) is type(right) and (left == right or (math.isnan(left) and math.isnan(right)))
    if isinstance(left, dict):
        return isinstance(right, dict) and left.keys() == right.keys() and all(json_equal(v, right[k]) for k, v in left.items())
    if isinstance(left, list):
        return isinstance(right, list) and len(left) == len(right) and all(json_equal(a, b) for a, b in zip(left, right, strict=True))
    return type(left) is type(right) and left == right


def first_difference(expected: Any, got: Any, path: str = "data") -> str:
    """Where two JSON values first differ, e.g. `data["big"][1]: sent 9007199254740993, got 9007199254740992.0`."""
    if isinstance(expected, dict) and isinstance(got, dict):
        for key in expected:
            if key not in got:
                return f"{path}[{key!r}] is missing"
            if not json_equal(expected[key], got[key]):
                return first_difference(expected[key], got[key], f"{path}[{key!r}]")
        extra = [k for k in got if k not in expected]
        return f"{path} has extra keys {extra[:3]!r}" if extra else path
    if isinstance(expected, list) and isinstance(got, list) and len(expected) == len(got):
        for index, (a, b) in enumerate(zip(expected, got, strict=True)):
            if not json_equal(a, b):
                return first_difference(a, b, f"{path}[{index}]")
    sent, back = json.dumps(expected, ensure_ascii=True)[:120], json.dumps(got, ensure_ascii=True)[:120]
    return f"{path}: sent {sent}, got {back}"
