"""Adversarial ids: near misses of a live id are other sessions; every accepted spelling is the same one."""

from __future__ import annotations

import uuid

from contract_tests.client import SESSION_PATH, ContractClient
from contract_tests.expect import expect, expect_status, json_body
from contract_tests.parallel import ChargedThreadPool
from contract_tests.registry import contract_property


def near_misses(sid: str) -> dict[str, str]:
    """Ids that share all but the last or first hex digits with `sid`, or differ from it in one hex digit."""
    digits = uuid.UUID(sid).hex

    def spell(hexdigits: str) -> str:
        return str(uuid.UUID(hex=hexdigits))

    def flip(position: int) -> str:
        replacement = "0" if digits[position] != "0" else "1"
        return spell(digits[:position] + replacement + digits[position + 1:])

    return {
        "shares the first 30 hex digits": spell(digits[:30] + ("00" if digits[30:] != "00" else "ff")),
        "shares the last 30 hex digits": spell(("00" if digits[:2] != "00" else "ff") + digits[2:]),
        "differs in the last hex digit": flip(31),
        "differs in the first hex digit": flip(0),
        "differs in one middle hex digit": flip(20),
    }


def spellings(sid: str) -> dict[str, str]:
    """Every accepted spelling of `sid` (openapi.yaml: ids are compared as UUIDs, not as strings)."""
    plain = uuid.UUID(sid).hex
    mixed = "".join(c.upper() if i % 2 else c for i, c in enumerate(sid))
    return {"uppercase": sid.upper(), "mixed case": mixed, "unhyphenated": plain, "unhyphenated uppercase": plain.upper(),
            "braced": "{" + sid + "}", "braced uppercase": "{" + sid.upper() + "}", "urn:uuid:": "urn:uuid:" + sid}


@contract_property("ids.adversarial")
def near_miss_ids_are_other_sessions_and_every_spelling_is_the_same_one(contract_client: ContractClient) -> None:
    live = contract_client.fresh_id()
    expect_status(contract_client.create_with_id(live), 201, "create-with-id on a fresh id")
    misses = near_misses(live)
    with ChargedThreadPool(max_workers=2 * len(misses)) as pool:
        gets = list(pool.map(contract_client.get, misses.values()))
        heads = list(pool.map(contract_client.head, misses.values()))
    for what, got, head in zip(misses, gets, heads, strict=True):
        expect(got.status_code == 404, f"GET an id that {what} with a live one answered {got.status_code} (expected 404): "
               f"{got.text[:120]}", got)
        expect_status(head, 404, f"HEAD an id that {what} with a live one")
    twin = near_misses(live)["shares the first 30 hex digits"]
    expect_status(contract_client.create_with_id(twin), 201, "create-with-id on an id that shares the first 30 hex digits with a live one")
    expect(contract_client.get(live).json().get("sessionId") == live, "creating a near-miss id changed what the live id finds",
           contract_client.last_response)
    expect_status(contract_client.delete(twin), 200, "DELETE the near-miss session")
    expect_status(contract_client.head(live), 204, "HEAD the live id after deleting a near miss")
    for way, spelled in spellings(live).items():
        sid = contract_client.fresh_id()
        created = contract_client.request("POST", f"{SESSION_PATH}/{spellings(sid)[way]}")
        expect_status(created, 201, f"create-with-id with the id spelled {way}")
        answered = json_body(created, "create-with-id").get("sessionId")
        expect(answered == sid, f"create-with-id spelled {way} answered sessionId {answered!r}, not the canonical {sid}", created)
        others = spellings(sid)
        with ChargedThreadPool(max_workers=len(others)) as pool:
            answers = list(pool.map(lambda other: contract_client.request("GET", f"{SESSION_PATH}/{other}"), others.values()))
        for other_way, got in zip(others, answers, strict=True):
            expect_status(got, 200, f"GET spelled {other_way} after create-with-id spelled {way}")
            expect(json_body(got, "GET").get("sessionId") == sid, f"GET spelled {other_way} answered another id", got)
        expect_status(contract_client.request("POST", f"{SESSION_PATH}/{spelled}"), 409, f"create-with-id on a live id spelled {way}")
