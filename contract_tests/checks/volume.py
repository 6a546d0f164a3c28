"""Persistence under volume: thousands of sessions created, patched and deleted concurrently evict nothing.

About 2.2 requests per session: create; 1 in 10 patched, 1 in 10 deleted at once; then every survivor
is deleted, and that DELETE's 200 is its read-back (404 would mean it was lost), the patched ones read
with GET first. So 2,000 sessions take about 4,400 requests and leave nothing for the final cleanup."""

from __future__ import annotations

from contract_tests.client import SESSION_PATH, ContractClient, data_of
from contract_tests.context import RunContext
from contract_tests.expect import expect, expect_status
from contract_tests.parallel import ChargedThreadPool
from contract_tests.registry import contract_property
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


@contract_property("persistence.under-volume", cost=8.0)
def sessions_survive_thousands_of_concurrent_creates_patches_and_deletes(
    contract_client: ContractClient, contract_run: RunContext
) -> None:
    options = contract_run.options
    earliest = [new_session(contract_client) for _ in range(EARLIEST)]
    with_data = all([try_give_data(contract_client, sid, {"early": index}) for index, sid in enumerate(earliest)])
    made: list[tuple[str | None, str]] = []
    removed: set[str] = set()
    with ChargedThreadPool(max_workers=options.concurrency) as pool:
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
                """A patched session is read (GET: its data); then each is deleted, which answers 200 only if it
                still exists: the read-back of the others, and the cleanup, in one request."""
                index, sid, state = item
                same = True
                if state == "patched":
                    got = contract_client.request("GET", f"{SESSION_PATH}/{sid}", check_write=False)
                    same = got.status_code != 200 or data_of(got) in (None, {"filler": index})
                gone = contract_client.request("DELETE", f"{SESSION_PATH}/{sid}", check_write=False)
                removed.add(str(sid))
                return str(sid), gone.status_code, same

            answers = list(pool.map(read_back, survivors))
            gone = [sid for sid, status, _ in answers if status != 200]
            expect(not gone, f"{len(gone)} of {len(survivors)} sessions were gone (DELETE answered 404, or other than 200) "
                   f"after {count} creates; first: {gone[:1]}",
                   contract_client.request("GET", f"{SESSION_PATH}/{gone[0]}") if gone else None)
            changed = [sid for sid, _, same in answers if not same]
            expect(not changed, f"{len(changed)} patched sessions lost their data, first: {changed[:1]}")
        finally:
            # Delete what a failure left here at once, on this pool: the final cleanup would leave it for the end.
            leftovers = [sid for sid, state in made if sid is not None and state != "deleted" and sid not in removed]
            list(pool.map(lambda sid: contract_client.request("DELETE", f"{SESSION_PATH}/{sid}", check_write=False), leftovers))
    expect_status(contract_client.head(earliest[0]), 204, "HEAD the earliest session")
