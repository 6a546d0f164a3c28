"""`DecoratedOnce`: each operation's handler decorated by Connexion once, not once per request.

Connexion's `AsyncApp` wraps every handler in its `StarletteDecorator` anew on each request: it
re-reads the handler's signature (`inspect.signature`) and rebuilds the parameter and response
decorators and the URI parser, although all of that depends only on the spec and the handler.
This innermost middleware, placed after Connexion's `ContextMiddleware` through the app's public
`middlewares` list, is a `RoutedMiddleware` (Connexion's base class for middleware that acts per
operation): at start-up it builds, for every operation, the very same decorator chain
(`StarletteDecorator.decorate`) and URI parser, and at request time calls them, so handlers get
the same arguments and clients the same answers. Requests that no operation matched (unknown
paths, undocumented methods) go on to Connexion's own app, which answers them as before.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from connexion.decorators import StarletteDecorator
from connexion.jsonifier import Jsonifier
from connexion.lifecycle import ConnexionRequest
from connexion.middleware.abstract import RoutedAPI, RoutedMiddleware
from connexion.operations import AbstractOperation
from starlette.types import ASGIApp, Receive, Scope, Send


class DecoratedOperation:
    """One operation's handler, decorated once, as an ASGI app."""

    def __init__(self, operation: AbstractOperation, *, pythonic_params: bool, jsonifier: Jsonifier) -> None:
        decorator = StarletteDecorator(pythonic_params=pythonic_params, jsonifier=jsonifier)
        self.handler: Callable[[ConnexionRequest], Awaitable[Any]] = decorator.decorate(operation.function)
        self.uri_parser = operation.uri_parser_class(operation.parameters, operation.body_definition())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.handler(ConnexionRequest(scope, receive, uri_parser=self.uri_parser))
        await response(scope, receive, send)


class DecoratedOnceAPI(RoutedAPI[DecoratedOperation]):  # type: ignore[misc]
    def __init__(self, *args: Any, pythonic_params: bool = False, jsonifier: Jsonifier | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pythonic_params = bool(pythonic_params)
        self.jsonifier = jsonifier or Jsonifier()  # the default Connexion's AsyncApp applies
        self.add_paths()

    def make_operation(self, operation: AbstractOperation) -> DecoratedOperation:
        return DecoratedOperation(operation, pythonic_params=self.pythonic_params, jsonifier=self.jsonifier)


class DecoratedOnce(RoutedMiddleware[DecoratedOnceAPI]):  # type: ignore[misc]
    """Innermost Connexion middleware: answers routed operations through handlers decorated once."""

    api_cls = DecoratedOnceAPI

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app)
