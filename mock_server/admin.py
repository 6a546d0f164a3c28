"""The one admin router: `/__mock/...` and `/`, kept apart from the session API's paths.

- `POST /__mock/reset`       a barrier: waits up to 5 s for requests in flight (then cancels them: 503),
                             holds new ones, then empties the journal, (with --proxy) the violation
                             totals and the store, and restores the --seed fixtures (`?fixtures=none`: leaves it empty)
- `GET  /__mock/requests`    the journal of the last N requests (method, path, query, status, time)
- `GET  /__mock/sessions`    the stored sessions: `{"count": N, "sessions": [records]}`
- `POST /__mock/sessions`    seed sessions from a JSON body in the seed format (see mock_server.seed)
- `GET  /__mock/violations`  with --proxy: what the proxy found (mock_server.violations)
- `GET|POST /__mock/namespace[?name=NAME]`  the request's namespace; POST sets the cookie that
                             chooses one (mock_server.namespaces; not with --proxy)
- `GET  /__mock/`            this list
- `GET  /`                   where things are: Swagger UI, the API, the spec, the admin routes

With --proxy the sessions live in the proxied deployment: `/__mock/sessions` answers 409 there.
HEAD works wherever GET does; a wrong method answers 405 with `Allow` (session_spec.rules).

Errors are raised as `ApiError` / `RequestValidationError` and rendered by reference_impl.errors
(the router sits inside Connexion's exception handling).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from mock_server import namespaces
from mock_server.barrier import ResetBarrier
from mock_server.journal import RequestJournal
from mock_server.seed import SeedError, load_seed, parse_seed
from mock_server.violations import ViolationLog
from reference_impl.errors import ApiError, RequestValidationError
from reference_impl.store import SessionRecord, SessionStore
from session_spec.rules import JsonBodyError, allow_header, is_json_media_type, parse_json

ADMIN_ROOT = "/__mock"
AdminRoute = Callable[[Request], Awaitable[Response]]
PROXIED_SESSIONS = "With --proxy the sessions live in the proxied deployment: create them there"


class AdminRoutes:
    """Answers `/__mock/...` and `/` itself; everything else passes to the app it wraps.

    `violations` is the proxy's log: given, the router serves `/__mock/violations` and refuses
    to seed or list sessions, which live in the deployment (the proxy app has no `store`).
    """

    def __init__(
        self,
        app: ASGIApp,
        store: SessionStore | None,
        journal: RequestJournal,
        violations: ViolationLog | None = None,
        barrier: ResetBarrier | None = None,
        fixtures: list[SessionRecord] | None = None,
    ) -> None:
        self.app = app
        self.store = store
        self.journal = journal
        self.violations = violations
        self.barrier = barrier if barrier is not None else ResetBarrier()
        self.fixtures = list(fixtures or [])  # the --seed records a reset restores
        self.routes: dict[str, dict[str, AdminRoute]] = {
            "/": {"GET": self.root},
            f"{ADMIN_ROOT}/": {"GET": self.index},
            f"{ADMIN_ROOT}/reset": {"POST": self.reset},
            f"{ADMIN_ROOT}/requests": {"GET": self.requests},
            f"{ADMIN_ROOT}/sessions": {"GET": self.sessions, "POST": self.seed},
        }
        if store is not None and violations is None:  # namespaces: the mock's own store only (not the proxy)
            self.routes[f"{ADMIN_ROOT}/namespace"] = {"GET": self.namespace, "POST": self.choose_namespace}
        if violations is not None:
            self.routes[f"{ADMIN_ROOT}/violations"] = {"GET": self.violation_summary}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path != "/" and path != ADMIN_ROOT and not path.startswith(ADMIN_ROOT + "/"):
            await self.app(scope, receive, send)
            return
        methods = self.routes.get(path if path != ADMIN_ROOT else ADMIN_ROOT + "/")
        if methods is None:
            raise ApiError(404, f"No admin route {path}; see GET {ADMIN_ROOT}/")
        # HEAD answers as GET does, without the body (uvicorn never sends a body for HEAD).
        handler = methods.get("GET" if scope["method"] == "HEAD" else scope["method"])
        if handler is None:
            allowed = allow_header(methods)
            raise ApiError(405, f"Method {scope['method']} not allowed; this path accepts {allowed}", {"Allow": allowed})
        response = await handler(Request(scope, receive))
        await response(scope, receive, send)

    async def index(self, request: Request) -> Response:
        return JSONResponse({"routes": [f"{method} {path}" for path, methods in self.routes.items() if path.startswith(ADMIN_ROOT) for method in methods]})

    async def root(self, request: Request) -> Response:
        """`GET /`: a pointer to what the mock serves, instead of a bare 404; the links carry the public
        prefix (`--root-path`, or a trusted `X-Forwarded-Prefix`), as Swagger UI's do."""
        prefix = str(request.scope.get("root_path", "")).rstrip("/")
        return JSONResponse({
            "message": "session-mock: the midPilot session API mock. Open Swagger UI to try the API.",
            "swaggerUi": f"{prefix}/api/v1/ui/",
            "api": f"{prefix}/api/v1/session",
            "openapi": f"{prefix}/api/v1/openapi.json",
            "health": f"{prefix}/health",
            "admin": f"{prefix}{ADMIN_ROOT}/",
        })

    async def reset(self, request: Request) -> Response:
        """`POST /__mock/reset[?fixtures=seed|none]`: the barrier (mock_server.barrier), then the clearing."""
        unknown = sorted(set(request.query_params) - {"fixtures"})
        if unknown:
            raise ApiError(400, f"Unknown reset parameter {', '.join(unknown)}; the only one is fixtures=seed|none")
        fixtures = request.query_params.get("fixtures", "seed")
        if fixtures not in ("seed", "none"):
            raise ApiError(400, f"fixtures={fixtures!r} is not seed (restore the --seed fixtures, the default) or none (leave the store empty)")
        restore = self.fixtures if fixtures == "seed" and self.store is not None else []

        async def clear() -> int:
            removed = 0
            if self.store is not None:
                removed = await self.store.count()
                await self.store.clear()
                await load_seed(self.store, restore)
            self.journal.clear()
            if self.violations is not None:
                self.violations.clear()
            return removed

        outcome = await self.barrier.reset(clear)
        return JSONResponse({
            "message": "Mock reset",
            "sessionsRemoved": outcome.cleared,
            "fixturesRestored": len(restore),
            "requestsWaitedFor": outcome.waited_for,
            "requestsCancelled": outcome.cancelled,
        })

    async def namespace(self, request: Request) -> Response:
        """`GET /__mock/namespace`: the namespace this request is in ("" is the default one)."""
        return JSONResponse({"namespace": namespaces.current.get()})

    async def choose_namespace(self, request: Request) -> Response:
        """`POST /__mock/namespace?name=NAME`: a cookie that puts this browser's later requests in NAME
        (`name=` empty: back to the default namespace). The `X-Mock-Namespace` header wins over it."""
        unknown = sorted(set(request.query_params) - {"name"})
        if unknown or "name" not in request.query_params:
            raise ApiError(400, f"Give the namespace as ?name=NAME ({namespaces.NAME_RULE}), or ?name= for the default one")
        name = request.query_params["name"]
        if name:
            try:
                namespaces.check_name(name)
            except ValueError as exc:
                raise ApiError(400, str(exc)) from None
        response = JSONResponse({"namespace": name, "cookie": namespaces.COOKIE})
        if name:
            response.set_cookie(namespaces.COOKIE, name, path="/", samesite="lax")
        else:
            response.delete_cookie(namespaces.COOKIE, path="/")
        return response

    async def requests(self, request: Request) -> Response:
        return JSONResponse({"limit": self.journal.limit, "requests": self.journal.entries()})

    async def violation_summary(self, request: Request) -> Response:
        assert self.violations is not None  # the route exists only with the proxy's log
        return JSONResponse(self.violations.summary())

    def _own_store(self) -> SessionStore:
        if self.store is None or self.violations is not None:
            raise ApiError(409, PROXIED_SESSIONS)
        return self.store

    async def sessions(self, request: Request) -> Response:
        """`GET /__mock/sessions`: how many sessions are stored, and each of them as GET shows it."""
        records = await self._own_store().records()
        return JSONResponse({"count": len(records), "sessions": [record.to_json() for record in records]})

    async def seed(self, request: Request) -> Response:
        store = self._own_store()
        content_type = request.headers.get("content-type", "")
        if not is_json_media_type(content_type):
            raise ApiError(415, f"Send the seed as application/json, not {content_type or 'no content type'}")
        try:
            document: Any = parse_json(await request.body())
        except JsonBodyError as exc:
            if exc.malformed:
                raise ApiError(400, f"Body is not valid JSON: {exc.msg}") from None
            raise RequestValidationError([exc.problem]) from None
        try:
            records = parse_seed(document)
        except SeedError as exc:
            raise RequestValidationError(exc.problems) from None
        await load_seed(store, records)
        ids = [str(record.session_id) for record in records]
        noun = "session" if len(ids) == 1 else "sessions"
        return JSONResponse({"message": f"Seeded {len(ids)} {noun}", "sessionIds": ids}, status_code=201)
