"""The ceiling of the comparison bench: a minimal Starlette app of the same contract, no validation.

It answers the session API's operations as openapi.yaml documents them (201/200/204/404/409/422 with
the same bodies), keeps sessions in a dict, and validates nothing beyond parsing the id: the fastest
a Python ASGI app on this stack (uvicorn, uvloop, httptools) can answer, for comparison only.

    python bench/ceiling_app.py --port 8091
"""

from __future__ import annotations

import argparse
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

SESSIONS: dict[uuid.UUID, dict[str, Any]] = {}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _session_id(request: Request) -> uuid.UUID | None:
    try:
        return uuid.UUID(request.path_params["session_id"])
    except ValueError:
        return None


def _malformed(request: Request) -> Response:
    if request.method == "HEAD":
        return Response(status_code=422)
    detail = [{"loc": ["path", "session_id"], "msg": "Input should be a valid UUID", "type": "uuid_parsing"}]
    return JSONResponse({"detail": detail}, status_code=422)


def _not_found(request: Request, sid: uuid.UUID) -> Response:
    if request.method == "HEAD":
        return Response(status_code=404)
    return JSONResponse({"detail": f"Session {sid} not found"}, status_code=404)


async def create_session(request: Request) -> Response:
    sid = uuid.uuid4()
    now = _now()
    SESSIONS[sid] = {"sessionId": str(sid), "data": {}, "createdAt": now, "updatedAt": now}
    return JSONResponse({"message": "Session created successfully", "sessionId": str(sid)}, status_code=201)


async def list_sessions(request: Request) -> Response:
    return JSONResponse({"detail": "Listing sessions is not supported"}, status_code=404)


async def one_session(request: Request) -> Response:
    sid = _session_id(request)
    if sid is None:
        return _malformed(request)
    method = request.method
    if method == "POST":
        if sid in SESSIONS:
            return JSONResponse({"detail": f"Session {sid} already exists"}, status_code=409)
        now = _now()
        SESSIONS[sid] = {"sessionId": str(sid), "data": {}, "createdAt": now, "updatedAt": now}
        return JSONResponse({"message": "Session created successfully", "sessionId": str(sid)}, status_code=201)
    record = SESSIONS.get(sid)
    if record is None:
        return _not_found(request, sid)
    if method == "HEAD":
        return Response(status_code=204)
    if method == "GET":
        return JSONResponse(record)
    if method == "PATCH":
        body = json.loads(await request.body())
        record["data"].update(body["data"])
        record["updatedAt"] = _now()
        return JSONResponse({"message": "Session updated successfully", "sessionId": str(sid)})
    del SESSIONS[sid]
    return JSONResponse({"message": "Session deleted successfully", "sessionId": str(sid)})


async def health(request: Request) -> Response:
    return JSONResponse({"message": "OK"})


app = Starlette(
    routes=[
        Route("/api/v1/session", create_session, methods=["POST"]),
        Route("/api/v1/session", list_sessions, methods=["GET"]),
        Route("/api/v1/session/{session_id}", one_session, methods=["POST", "GET", "HEAD", "PATCH", "DELETE"]),
        Route("/health", health, methods=["GET"]),
    ]
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(app, host=args.host, port=args.port, loop="uvloop", http="httptools", access_log=False, log_level="warning")


if __name__ == "__main__":
    main()
