"""Persistence under volume: thousands of sessions created, patched and deleted concurrently evict nothing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from contract_tests.client import SESSION_PATH, ContractClient, data_of
from contract_tests.expect import expect, expect_status
from contract_tests.properties import contract_property
from contract_tests.run import ContractRun
from contract_tests.steps import new_session, try_give_data

EARLIEST = 5


def make_filler(client: ContractClient, index: int) -> tuple[str | None, str]:
    """Create one session; every 10th is patched, every 10th (offset 5) deleted: (id, "live"|"patched"|"deleted")."""
    created = client.request("POST", SESSION_PATH, check_write=False)
    try:
        sid = str(created.json()["sessionId"]) if created.status_code == 201 else None
    except (ValueError, KeyError, TypeError):
        sid = None
    if sid is None:
        return None, f"create answered {created.status_code}"
    if index % 10 == 0 and client.request("PATCH", f"{SESSION_PATH}/{sid}", json={"data": {"filler": index}},
                                          check_write=False).status_code == 200:
        return sid, "patched"
    if index % 10 == 5 and client.request("DELETE", f"{SESSION_PATH}/{sid}", check_write=False).status_code == 200:
        return sid, "deleted"
    return sid, "live"


@contract_property("persistence.under-volume")
def test_sessions_survive_thousands_of_concurrent_creates_patches_and_deletes(
    contract_client: ContractClient, contract_run: ContractRun
) -> None:
    options = contract_run.options
    earliest = [new_session(contract_client) for _ in range(EARLIEST)]
    with_data = all([try_give_data(contract_client, sid, {"early": index}) for index, sid in enumerate(earliest)])
    made: list[tuple[str | None, str]] = []
    with ThreadPoolExecutor(max_workers=options.concurrency) as pool:
        try:
            made = list(pool.map(lambda i: make_filler(contract_client, i) if not contract_run.over_budget() else (None, "skipped"),
                                 range(options.volume)))
            failures = [state for sid, state in made if sid is None and state != "skipped"]
            expect(not failures, f"{len(failures)} of {options.volume} creates failed, first: {failures[:1]}")
            count = sum(1 for sid, _ in made if sid is not None)
            for index, sid in enumerate(earliest):
                got = contract_client.get(sid)
                expect(got.status_code == 200, f"session {index + 1} of the first {EARLIEST} is gone after {count} more "
                       f"sessions (GET {got.status_code})", got)
                expect(not with_data or data_of(got) in (None, {"early": index}),
                       f"session {index + 1} of the first {EARLIEST} lost its data after {count} more sessions", got)
            survivors = [(index, sid, state) for index, (sid, state) in enumerate(made) if state in ("live", "patched")]

            def read_back(item: tuple[int, str | None, str]) -> tuple[str, int, bool]:
                index, sid, state = item
                if state == "patched":
                    got = contract_client.request("GET", f"{SESSION_PATH}/{sid}", check_write=False)
                    return str(sid), got.status_code, data_of(got) in (None, {"filler": index})
                return str(sid), contract_client.request("HEAD", f"{SESSION_PATH}/{sid}").status_code, True

            answers = list(pool.map(read_back, survivors))
            gone = [sid for sid, status, _ in answers if status not in (200, 204)]
            if gone:
                again = contract_client.get(gone[0])
                expect(again.status_code == 200, f"{len(gone)} of {len(survivors)} sessions are gone after {count} creates, "
                       f"{gone[0]} among them (GET {again.status_code})", again)
            changed = [sid for sid, _, same in answers if not same]
            expect(not changed, f"{len(changed)} patched sessions lost their data, first: {changed[:1]}")
        finally:
            # Delete our own fillers here, concurrently: the run's final cleanup deletes one at a time.
            leftovers = [sid for sid, state in made if sid is not None and state != "deleted"]
            list(pool.map(lambda sid: contract_client.request("DELETE", f"{SESSION_PATH}/{sid}", check_write=False), leftovers))
    expect_status(contract_client.head(earliest[0]), 204, "HEAD the earliest session")
