"""`--record FILE` (with `--proxy`): a snapshot of the sessions the deployment answered with, for `--seed FILE` offline.

`Recording.observe` sees every proxied exchange that the deployment answered:
- a create (201) adds the session it names, with `data` `{}` (creates are empty; the contract);
- a GET (200) takes the session as answered (`data`, `createdAt`, `updatedAt`; a field the answer
  lacks, such as production's GET without `data`, keeps what was recorded);
- a PATCH (200) merges the request's `data` at the top level, as the deployment did;
- a DELETE (200), or any answer 404 for the session, drops it.
At shutdown (the ASGI lifespan's end) `write` stores the snapshot in the seed format
(mock_server.seed), through a temporary file and a rename, so `--seed FILE` replays it.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from session_spec.rules import JsonBodyError, MalformedId, OperationTable, parse_json, parse_session_id

log = logging.getLogger("session_mock.record")
CREATES = {"create_session", "create_session_with_id"}


def _json(body: bytes) -> Any:
    try:
        return parse_json(body)
    except JsonBodyError:
        return None


class Recording:
    """The sessions seen through the proxy, by id, in the order first seen."""

    def __init__(self, path: Path, operations: OperationTable) -> None:
        self.path = path
        self.operations = operations
        self.sessions: dict[str, dict[str, Any]] = {}

    def _session_id(self, path: str, answer: Any) -> str | None:
        raw = answer.get("sessionId") if isinstance(answer, dict) else None
        if not isinstance(raw, str):
            route = self.operations.route(path)
            raw = path.rsplit("/", 1)[-1] if route is not None and route.template.endswith("}") else None
        try:
            return str(parse_session_id(raw)) if isinstance(raw, str) else None
        except MalformedId:
            return None

    def observe(self, method: str, path: str, status: int, request_body: bytes, answer_body: bytes) -> None:
        operation = self.operations.operation_id(method, path)
        if operation is None:
            return
        answer = _json(answer_body) if answer_body else None
        sid = self._session_id(path, answer)
        if sid is None:
            return
        if status == 404 or (operation == "delete_session" and status == 200):
            self.sessions.pop(sid, None)
        elif operation in CREATES and status == 201:
            self.sessions[sid] = {"sessionId": sid, "data": {}}
        elif operation == "get_session" and status == 200 and isinstance(answer, dict):
            record = self.sessions.setdefault(sid, {"sessionId": sid, "data": {}})
            if isinstance(answer.get("createdAt"), str) and isinstance(answer.get("updatedAt"), str):
                record.update(createdAt=answer["createdAt"], updatedAt=answer["updatedAt"])
            if isinstance(answer.get("data"), dict):
                record["data"] = answer["data"]
        elif operation == "update_session" and status == 200 and sid in self.sessions:
            update = _json(request_body)
            if isinstance(update, dict) and isinstance(update.get("data"), dict):
                self.sessions[sid]["data"] = {**self.sessions[sid]["data"], **update["data"]}

    def write(self) -> None:
        """The snapshot to `path` in the seed format; a failure is one log line, never a traceback."""
        temporary = self.path.with_name(self.path.name + ".tmp")
        try:
            temporary.write_text(json.dumps(list(self.sessions.values()), indent=2) + "\n", encoding="utf-8")
            os.replace(temporary, self.path)
        except OSError as exc:
            log.error("cannot write the recording to %s: %s", self.path, exc.strerror or exc)
            return
        log.info("recorded %d session(s) to %s (replay offline with --seed %s)", len(self.sessions), self.path, self.path)
