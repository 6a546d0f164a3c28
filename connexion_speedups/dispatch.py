"""`DirectDispatch`: the innermost layer, calling each operation's handler without per-request set-up.

Connexion's `AsyncApp` wraps every handler in its `StarletteDecorator` anew on each request: it
re-reads the handler's signature (`inspect.signature`), rebuilds the parameter and response
decorators and the URI parser, and then, per request, collects query, form and file arguments the
handler never takes. All of that depends only on the spec and the handler. This middleware, placed
after Connexion's `ContextMiddleware` through the app's public `middlewares` list, is a
`RoutedMiddleware` (Connexion's base class for middleware that acts per operation) that decides
at start-up, for every operation, how its handler is called:

- `DirectOperation`, for a handler whose parameters are only string path parameters and the JSON
  request body (`body`), which is every handler of `reference_impl.handlers`: the path parameters
  go through as routed, the body is the request's JSON, and the answer is serialised the way
  Connexion's response decorator does it (the app's `Jsonifier`, the operation's one media type);
- `DecoratedOperation`, for any other handler: Connexion's own decorator chain, built once.

Requests that no operation matched (unknown paths, undocumented methods) go on to Connexion's own
app, which answers them as before. `tests/test_connexion_speedups.py` sends the same requests through this
and through Connexion's own dispatch and compares the answers byte for byte.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from connexion.decorators import StarletteDecorator
from connexion.frameworks.starlette import Starlette
from connexion.jsonifier import Jsonifier
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.middleware.abstract import RoutedAPI, RoutedMiddleware
from connexion.operations import AbstractOperation
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

BODY_ARGUMENT = "body"  # Connexion's name for the request body when the spec sets no x-body-name


class DecoratedOperation:
    """One operation's handler in Connexion's own decorator chain, built once, as an ASGI app."""

    def __init__(self, operation: AbstractOperation, *, pythonic_params: bool, jsonifier: Jsonifier) -> None:
        decorator = StarletteDecorator(pythonic_params=pythonic_params, jsonifier=jsonifier)
        self.handler: Callable[[ConnexionRequest], Awaitable[Any]] = decorator.decorate(operation.function)
        self.uri_parser = operation.uri_parser_class(operation.parameters, operation.body_definition())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.handler(ConnexionRequest(scope, receive, uri_parser=self.uri_parser))
        await response(scope, receive, send)


class DirectOperation:
    """One operation's handler called with its path parameters and JSON body, as an ASGI app.

    The answer is what Connexion's response decorator makes of the handler's result: a
    `ConnexionResponse` converted as it is, a `(data, status)` tuple serialised with `jsonifier`
    under the operation's one media type (`Content-Type` set, `Content-Length` from Starlette).
    """

    def __init__(self, operation: AbstractOperation, *, jsonifier: Jsonifier, takes_body: bool, media_type: str | None) -> None:
        self.handler: Callable[..., Awaitable[Any]] = operation.function
        self.takes_body = takes_body
        self.jsonifier = jsonifier
        self.media_type = media_type

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        arguments = dict(scope.get("path_params", ()))
        if self.takes_body:  # as Connexion's parameter decorator: Starlette's request, parsed as JSON
            arguments[BODY_ARGUMENT] = await Request(scope, receive).json()
        result = await self.handler(**arguments)
        if isinstance(result, ConnexionResponse):
            response = Starlette.connexion_to_framework_response(result)
        else:
            data, status = result
            # Connexion's rule: the operation's one media type; JSON if it declares none and there is data.
            media_type = self.media_type or (None if data is None else "application/json")
            content = None if data is None else self.jsonifier.dumps(data)
            headers = {} if media_type is None else {"Content-Type": media_type}
            response = Response(content, status_code=status, media_type=media_type, headers=headers)
        await response(scope, receive, send)


def direct_call_plan(operation: AbstractOperation) -> tuple[bool, str | None] | None:
    """`(takes_body, media_type)` if `DirectOperation` calls this handler as Connexion would, else None.

    That holds when the handler's parameters are all string path parameters of the operation or
    the JSON body under Connexion's default name, and the operation produces at most one media
    type (`media_type`, None for none).
    """
    try:
        parameters = inspect.signature(operation.function).parameters.values()
    except (TypeError, ValueError):
        return None
    path_strings = {
        p["name"] for p in operation.parameters if p["in"] == "path" and p.get("schema", {}).get("type") == "string"
    }
    path_names = {p["name"] for p in operation.parameters if p["in"] == "path"}
    produces = set(operation.produces)
    names = {p.name for p in parameters}
    if any(p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) for p in parameters) or path_names != path_strings:
        return None
    takes_body = BODY_ARGUMENT in names
    json_body = set(operation.consumes) == {"application/json"} and "x-body-name" not in operation.request_body
    if names - path_names - {BODY_ARGUMENT} or not path_names <= names or (takes_body and not json_body) or len(produces) > 1:
        return None
    return takes_body, (produces.pop() if produces else None)


class DirectDispatchAPI(RoutedAPI[DirectOperation | DecoratedOperation]):  # type: ignore[misc]
    def __init__(self, *args: Any, pythonic_params: bool = False, jsonifier: Jsonifier | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pythonic_params = bool(pythonic_params)
        self.jsonifier = jsonifier or Jsonifier()  # the default Connexion's AsyncApp applies
        self.add_paths()

    def make_operation(self, operation: AbstractOperation) -> DirectOperation | DecoratedOperation:
        plan = None if self.pythonic_params else direct_call_plan(operation)
        if plan is None:
            return DecoratedOperation(operation, pythonic_params=self.pythonic_params, jsonifier=self.jsonifier)
        takes_body, media_type = plan
        return DirectOperation(operation, jsonifier=self.jsonifier, takes_body=takes_body, media_type=media_type)


class DirectDispatch(RoutedMiddleware[DirectDispatchAPI]):  # type: ignore[misc]
    """Innermost Connexion middleware: answers routed operations through handlers set up once."""

    api_cls = DirectDispatchAPI

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app)
