"""The one place that renders errors in the contract's shape.

Every error body is `{"detail": "<text>"}`; request-validation errors answer 422 with FastAPI's
list form `{"detail": [{"loc": [...], "msg": "...", "type": "..."}]}`. HEAD answers never carry
a body. No stack trace ever reaches a client.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from connexion import AsyncApp
from connexion.exceptions import BadRequestProblem, ProblemException, UnsupportedMediaTypeProblem
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from starlette.exceptions import HTTPException
from starlette.responses import Response

from session_spec.rules import MALFORMED_ID_PROBLEM, allowed_methods

ErrorHandler = Callable[[ConnexionRequest, HTTPException], ConnexionResponse]

logger = logging.getLogger(__name__)

REASONS = {
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Request body too large",
    415: "Unsupported Media Type",
    500: "Internal Server Error",
}


class ApiError(Exception):
    """An error answer with a `detail` text, raised by handlers."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}


class RequestValidationError(Exception):
    """A malformed id or body: answered 422 with FastAPI's list of problems."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors)
        self.errors = errors


def error_body(detail: Any, extra: dict[str, Any] | None = None) -> bytes:
    """The JSON body of an error answer: `{"detail": ...}` (and, rarely, more keys after it)."""
    return json.dumps({"detail": detail, **(extra or {})}).encode()


def render(request: ConnexionRequest | None, status: int, detail: Any, headers: dict[str, str] | None = None) -> ConnexionResponse:
    """An error response in the contract's shape (empty for HEAD)."""
    headers = dict(headers or {})
    if request is not None and request.method == "HEAD":
        return ConnexionResponse(status_code=status, headers=headers, body=b"")
    return ConnexionResponse(
        status_code=status,
        mimetype="application/json",
        content_type="application/json",
        headers=headers,
        body=error_body(detail),
    )


def as_starlette(response: ConnexionResponse) -> Response:
    """A rendered error as a Starlette response (for ASGI layers and apps outside Connexion)."""
    return Response(response.body, response.status_code, dict(response.headers or {}), response.content_type)


def error_response(status: int, detail: Any, headers: dict[str, str] | None = None) -> Response:
    """`render`'s answer as a Starlette response, for ASGI layers outside Connexion's exception handling."""
    return as_starlette(render(None, status, detail, headers))


def _api_error(request: ConnexionRequest, exc: ApiError) -> ConnexionResponse:
    return render(request, exc.status, exc.detail, exc.headers)


def _validation_error(request: ConnexionRequest, exc: RequestValidationError) -> ConnexionResponse:
    return render(request, 422, exc.errors)


def _bad_request(request: ConnexionRequest, exc: ProblemException) -> ConnexionResponse:
    """Connexion's request-validation problems become FastAPI-style 422s."""
    detail = str(exc.detail or exc.title or "Invalid request")
    kind = "content_type" if isinstance(exc, UnsupportedMediaTypeProblem) else "value_error"
    return render(request, 422, [{"loc": ["body"], "msg": detail, "type": kind}])


def _undecodable_body(request: ConnexionRequest, exc: UnicodeDecodeError) -> ConnexionResponse:
    """Connexion decodes JSON bodies as UTF-8 and does not catch the failure itself."""
    return render(request, 422, [{"loc": ["body"], "msg": "Body is not valid UTF-8 text", "type": "json_invalid"}])


def _problem(request: ConnexionRequest, exc: ProblemException) -> ConnexionResponse:
    if exc.status >= 500:
        logger.error("%s: %s", exc.title, exc.detail)
        return render(request, exc.status, REASONS.get(exc.status, "Internal Server Error"))
    return render(request, exc.status, str(exc.detail or exc.title or REASONS.get(exc.status, "Error")), exc.headers)


def _http_exception(request: ConnexionRequest, exc: HTTPException) -> ConnexionResponse:
    detail = exc.detail or REASONS.get(exc.status_code, "Error")
    return render(request, exc.status_code, detail, dict(exc.headers or {}))


def _route_not_found(allowed: Callable[[str], list[str] | None]) -> ErrorHandler:
    """404 for unknown paths; but a path the spec documents whose id the router could not match
    (a newline in it, say) is a malformed id: 422, as for any other malformed id."""

    def handler(request: ConnexionRequest, exc: HTTPException) -> ConnexionResponse:
        methods = allowed(request.scope["path"])
        if methods and request.method in methods:
            return render(request, 422, [MALFORMED_ID_PROBLEM])
        return render(request, 404, REASONS[404])

    return handler


def _method_not_allowed(allowed: Callable[[str], list[str] | None]) -> ErrorHandler:
    """405 with an `Allow` header naming the methods the path answers (RFC 9110 section 15.5.6).

    For the spec's paths: the methods it documents, plus HEAD wherever GET is documented (the
    router answers HEAD for every GET route; session_spec.rules.allowed_methods). For other routes (Swagger UI, the served spec): the
    router's own `Allow`. (The router's 405 on a spec path names only the first route that matched.)
    """

    def handler(request: ConnexionRequest, exc: HTTPException) -> ConnexionResponse:
        documented = allowed(request.scope["path"])
        if documented is None:
            documented = [m.strip() for m in dict(exc.headers or {}).get("Allow", "").split(",") if m.strip()]
        methods = allowed_methods(documented)
        detail = f"Method {request.method} not allowed; this path accepts {', '.join(methods)}"
        return render(request, 405, detail, {"Allow": ", ".join(methods)})

    return handler


def _unexpected(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    logger.error("unhandled error while answering %s %s", request.method, request.url.path, exc_info=exc)
    return render(request, 500, REASONS[500])


def _on_event_loop(handler: Callable[[ConnexionRequest, Any], ConnexionResponse]) -> Callable[..., Any]:
    """The renderer as a coroutine: Connexion runs a plain function handler in a worker thread,
    a thread hop per error answer; the renderers are quick and never block."""

    async def render_error(request: ConnexionRequest, exc: Any) -> ConnexionResponse:
        return handler(request, exc)

    return render_error


class _RenderersOnEventLoop:
    """`add_error_handler` of a Connexion app, registering each renderer as a coroutine."""

    def __init__(self, app: AsyncApp) -> None:
        self.app = app

    def add_error_handler(self, code_or_exception: int | type[Exception], handler: Callable[[ConnexionRequest, Any], ConnexionResponse]) -> None:
        self.app.add_error_handler(code_or_exception, _on_event_loop(handler))


def renderers(allowed_methods: Callable[[str], list[str] | None]) -> dict[int | type[Exception], Callable[[Any, Any], ConnexionResponse]]:
    """Every renderer, by the status or exception it answers (in Connexion's registration order).

    `allowed_methods` maps a request path to the methods the spec documents for it.
    """
    return {
        404: _route_not_found(allowed_methods),
        405: _method_not_allowed(allowed_methods),
        ApiError: _api_error,
        RequestValidationError: _validation_error,
        BadRequestProblem: _bad_request,
        UnsupportedMediaTypeProblem: _bad_request,
        UnicodeDecodeError: _undecodable_body,
        ProblemException: _problem,
        HTTPException: _http_exception,
        Exception: _unexpected,
    }


def starlette_handlers(allowed_methods: Callable[[str], list[str] | None]) -> dict[Any, Callable[[Any, Any], Awaitable[Response]]]:
    """The same renderers for Starlette's own `ExceptionMiddleware` and `ServerErrorMiddleware` (the
    proxy app, which runs no Connexion exception handling)."""

    def adapt(handler: Callable[[Any, Any], ConnexionResponse]) -> Callable[[Any, Any], Awaitable[Response]]:
        async def handle(request: Any, exc: Any) -> Response:
            return as_starlette(handler(request, exc))

        return handle

    return {key: adapt(handler) for key, handler in renderers(allowed_methods).items()}


def register(app: AsyncApp, allowed_methods: Callable[[str], list[str] | None]) -> None:
    """Install the renderers on a Connexion app, replacing its problem+json defaults."""
    registry = _RenderersOnEventLoop(app)
    for key, handler in renderers(allowed_methods).items():
        registry.add_error_handler(key, handler)
