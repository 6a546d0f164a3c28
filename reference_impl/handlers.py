"""Thin handlers, one per `operationId` of openapi.yaml; all state lives in the store."""

from __future__ import annotations

import uuid
from typing import Any

from connexion.lifecycle import ConnexionResponse

from reference_impl.errors import ApiError, RequestValidationError
from reference_impl.store import SessionExists, SessionStore, StorageError
from session_spec import rules


def parse_session_id(raw: str) -> uuid.UUID:
    """The UUID a path names, in any accepted spelling (session_spec.rules); 422 for anything else."""
    try:
        return rules.parse_session_id(raw)
    except rules.MalformedId:
        raise RequestValidationError([rules.MALFORMED_ID_PROBLEM]) from None


def _message(text: str, session_id: uuid.UUID) -> dict[str, str]:
    return {"message": text, "sessionId": str(session_id)}


class SessionHandlers:
    """The operations of openapi.yaml, bound to one store."""

    def __init__(self, store: SessionStore) -> None:
        self.store = store

    async def create_session(self) -> tuple[dict[str, str], int]:
        try:
            record = await self.store.create()
        except StorageError as exc:
            raise ApiError(500, "Unable to create session") from exc
        return _message("Session created successfully", record.session_id), 201

    async def create_session_with_id(self, session_id: str) -> tuple[dict[str, str], int]:
        sid = parse_session_id(session_id)
        try:
            await self.store.create(sid)
        except SessionExists:
            raise ApiError(409, f"Session {sid} already exists") from None
        return _message("Session created successfully", sid), 201

    async def get_session(self, session_id: str) -> tuple[dict[str, Any], int]:
        sid = parse_session_id(session_id)
        record = await self.store.get(sid)
        if record is None:
            raise ApiError(404, f"Session {sid} not found")
        return record.to_json(), 200

    async def check_session_exists(self, session_id: str) -> ConnexionResponse:
        sid = parse_session_id(session_id)
        if not await self.store.exists(sid):
            raise ApiError(404, f"Session {sid} not found")
        return ConnexionResponse(status_code=204, body=b"")

    async def update_session(self, session_id: str, body: dict[str, Any]) -> tuple[dict[str, str], int]:
        sid = parse_session_id(session_id)
        if await self.store.update(sid, body["data"]) is None:
            raise ApiError(404, f"Session {sid} not found or update failed")
        return _message("Session updated successfully", sid), 200

    async def delete_session(self, session_id: str) -> tuple[dict[str, str], int]:
        sid = parse_session_id(session_id)
        if not await self.store.delete(sid):
            raise ApiError(404, f"Session {sid} not found")
        return _message("Session deleted successfully", sid), 200

    async def list_sessions(self) -> None:
        raise ApiError(
            404,
            "Listing sessions is not supported; keep the ids you create and use "
            "HEAD /api/v1/session/{session_id}",
        )

    async def health(self) -> tuple[dict[str, str], int]:
        return {"message": "OK"}, 200

    def resolve(self, operation_id: str) -> Any:
        """Connexion's function resolver: the handler named after the operationId."""
        handler = getattr(self, operation_id, None)
        if operation_id.startswith("_") or operation_id == "resolve" or not callable(handler):
            raise ImportError(f"no handler for operationId {operation_id!r}")
        return handler

    @classmethod
    def operation_ids(cls) -> set[str]:
        """Every handler this class offers (for the spec/handler consistency test)."""
        return {name for name, value in vars(cls).items() if callable(value) and not name.startswith("_") and name not in {"resolve", "operation_ids"}}
