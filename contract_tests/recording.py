"""Send one request through the run's client and record it as a timed `Operation` for the checker."""

from __future__ import annotations

import time
from typing import Any

from contract_tests.client import SESSION_PATH, ContractClient, data_of
from contract_tests.expect import ContractViolation
from contract_tests.linearizability import Operation, Violation

METHODS = {"create": "POST", "get": "GET", "head": "HEAD", "patch": "PATCH", "delete": "DELETE"}


def timed(client: ContractClient, kind: str, sid: str, data: dict[str, Any] | None = None, number: int = 0) -> Operation:
    """One request (`kind` as in `Operation`) with its start and end on the monotonic clock.

    The client's own read-your-writes re-read is off here: it would add unrecorded requests to the
    history, and the history's check is the stronger one."""
    body = {"data": data} if kind == "patch" else None
    start = time.monotonic()
    response = client.request(METHODS[kind], f"{SESSION_PATH}/{sid}", json=body, check_write=False)
    end = time.monotonic()
    observed = data_of(response) if kind == "get" and response.status_code == 200 else None
    return Operation(kind, sid, response.status_code, start, end, argument=data, observed=observed, client=number,
                     curl=client.curl(response.request))


def settle(client: ContractClient, final: list[Operation]) -> None:
    """Delete every id whose final read found it live. Under concurrency the client may have recorded a
    create and a DELETE in the other order than the server applied them; this leaves nothing behind."""
    for op in final:
        if op.status == 200:
            client.request("DELETE", f"{SESSION_PATH}/{op.sid}", check_write=False)


def violation_error(violation: Violation, what: str) -> ContractViolation:
    """A ContractViolation listing the smallest unexplained set of operations, each with its curl line."""
    origin = min(op.start for op in violation.operations)
    lines = [f"{what}: no order of these {len(violation.operations)} operations on {violation.sid} explains their answers "
             f"(smallest such set among its {violation.history_size} operations):"]
    for op in violation.operations:
        lines.append(f"  {op.describe(origin)}")
        lines.append(f"    {op.curl}")
    return ContractViolation("\n".join(lines), reproduction=violation.operations[-1].curl)
