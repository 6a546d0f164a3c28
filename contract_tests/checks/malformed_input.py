"""Malformed ids and bodies, sent the way clients really send them: 4xx with a JSON body, never a 5xx."""

from __future__ import annotations

import json
from typing import Any

import httpx

from contract_tests.client import SESSION_PATH, ContractClient
from contract_tests.expect import ContractViolation, expect, json_body
from contract_tests.parallel import ChargedThreadPool
from contract_tests.registry import contract_property
from contract_tests.steps import new_session
from contract_tests.strategies import json_equal

MALFORMED_IDS = ["not-a-uuid", "123", "0" * 31, "g" * 32, "123e4567-e89b-42d3-a456-42661417400Z", "%00", "..%2F..", "' OR 1=1 --", "x" * 300]
MALFORMED_BODIES: list[tuple[str, bytes]] = [
    ("no data key", b'{"other": {}}'),
    ("data is a list", b'{"data": [1, 2]}'),
    ("data is a string", b'{"data": "text"}'),
    ("data is null", b'{"data": null}'),
    ("body is a list", b"[]"),
    ("body is not JSON", b"{not json"),
    ("body is empty", b""),
    ("body is not UTF-8", b'{"data": {"a": "\xff\xfe"}}'),
    ("invalid UTF-8 in a key", b'{"data": {"\xc3\x28": 1}}'),
    ("NaN", b'{"data": {"a": NaN}}'),
    ("Infinity", b'{"data": {"a": Infinity}}'),
    ("-Infinity", b'{"data": {"a": -Infinity}}'),
]
JSON = "application/json"
# Media types are case-insensitive (RFC 9110 section 8.3.1): these must be answered like `application/json`.
OTHER_CASES = ["Application/JSON", "APPLICATION/JSON", "application/json; charset=UTF-8", "Application/Json; Charset=utf-8"]


def _nested(depth: int, leaf: bytes, array: bool) -> bytes:
    opening, closing = (b"[", b"]") if array else (b'{"k":', b"}")
    return opening * depth + leaf + closing * depth


# Bodies a deployment may refuse (4xx) or store, but if it answers 2xx it must have stored exactly them.
# (label, raw body, headers, the `data` it means, or None when it has no one meaning)
EITHER_WAY: list[tuple[str, bytes, dict[str, str], Any]] = [
    ("no Content-Type", b'{"data": {"ct": "none"}}', {}, {"ct": "none"}),
    ("600 levels of arrays", b'{"data": {"deep": ' + _nested(600, b"1", True) + b"}}", {"Content-Type": JSON}, None),
    ("2,000 levels of objects", b'{"data": {"deep": ' + _nested(2000, b"1", False) + b"}}", {"Content-Type": JSON}, None),
    ("a 5,000-digit integer", b'{"data": {"big": ' + b"7" * 5000 + b"}}", {"Content-Type": JSON}, None),
    ("a byte-order mark", b'\xef\xbb\xbf{"data": {"bom": 1}}', {"Content-Type": JSON}, {"bom": 1}),
    ("duplicate keys", b'{"data": {"dup": 1, "dup": 2}}', {"Content-Type": JSON}, None),
]


def _patch(client: ContractClient, sid: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return client.request("PATCH", f"{SESSION_PATH}/{sid}", content=body, headers=headers, check_write=False)


def _four_xx_with_json(response: httpx.Response, what: str) -> None:
    expect(400 <= response.status_code < 500, f"{what} answered {response.status_code}, expected a 4xx", response)
    json_body(response, what)


def _strict_data(client: ContractClient, sid: str, what: str) -> Any:
    """The session's data, read as strict JSON (no NaN or Infinity: RFC 8259 section 6)."""
    response = client.get(sid)

    def refuse(constant: str) -> Any:
        raise ContractViolation(f"after {what}, GET answers {constant}, which is not JSON", response)

    def integer(digits: str) -> Any:
        return int(digits) if len(digits) < 4000 else digits  # Python's int() refuses over 4,300 digits

    try:
        body = json.loads(response.content, parse_constant=refuse, parse_int=integer)
    except RecursionError:
        return None  # deeper than this client can parse: stored, and not ours to judge further
    except ValueError:
        raise ContractViolation(f"after {what}, GET does not answer JSON", response) from None
    return body.get("data") if isinstance(body, dict) else None


@contract_property("input.malformed-is-4xx")
def malformed_ids_and_bodies_get_a_4xx_with_a_json_body(contract_client: ContractClient) -> None:
    cases = [(raw, method) for raw in MALFORMED_IDS for method in ("GET", "HEAD", "POST", "PATCH", "DELETE")]

    def send(case: tuple[str, str]) -> httpx.Response:
        raw, method = case
        body = {"data": {"a": 1}} if method == "PATCH" else None
        return contract_client.request(method, f"{SESSION_PATH}/{raw}", json=body)

    with ChargedThreadPool(max_workers=8) as pool:
        answers = list(pool.map(send, cases))
    for (raw, method), response in zip(cases, answers, strict=True):
        expect(400 <= response.status_code < 500, f"{method} with malformed id {raw[:40]!r} answered {response.status_code}", response)
        if method != "HEAD":
            json_body(response, f"{method} with malformed id {raw[:40]!r}")
    sid = new_session(contract_client)
    for what, content in MALFORMED_BODIES:
        _four_xx_with_json(_patch(contract_client, sid, content, {"Content-Type": JSON}), f"PATCH with a malformed body ({what})")
        _strict_data(contract_client, sid, f"PATCH with {what}")
    baseline = _patch(contract_client, sid, b'{"data": {"case": "application/json"}}', {"Content-Type": JSON})
    for media_type in OTHER_CASES:
        response = _patch(contract_client, sid, json.dumps({"data": {"case": media_type}}).encode(), {"Content-Type": media_type})
        expect(response.status_code == baseline.status_code,
               f"PATCH with Content-Type {media_type!r} answered {response.status_code}, but {baseline.status_code} with "
               f"{JSON!r}: media types are case-insensitive (RFC 9110)", response)
        json_body(response, f"PATCH with Content-Type {media_type!r}")
        if response.status_code == 200:
            expect(_strict_data(contract_client, sid, f"PATCH with Content-Type {media_type!r}").get("case") == media_type,
                   f"PATCH with Content-Type {media_type!r} answered 200 but did not store its data", contract_client.last_response)
    for what, content, headers, meaning in EITHER_WAY:
        response = _patch(contract_client, sid, content, headers)
        expect(response.status_code < 500, f"PATCH with {what} answered {response.status_code}, expected a 4xx or 200", response)
        json_body(response, f"PATCH with {what}")
        data = _strict_data(contract_client, sid, f"PATCH with {what}")
        if response.status_code == 200 and meaning is not None:
            stored = {key: data.get(key) for key in meaning} if isinstance(data, dict) else None
            expect(json_equal(stored, meaning), f"PATCH with {what} answered 200 but stored {stored!r}, not {meaning!r}",
                   contract_client.last_response)
