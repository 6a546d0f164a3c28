"""`create_proxy_app`: `session-mock --proxy URL` as an app of its own, the mock's outer layers around the proxy.

The proxy answers every request that reaches it from the deployment, so nothing of the reference
(store, routing, validation, handlers) would ever run behind it: none is built. The stack is
declared in mock_server.stack (`proxy_stack`) and shares the mock's outer layers (journal, CORS,
body limit, the admin router); errors are rendered by reference_impl.errors through Starlette's own
`ExceptionMiddleware` and `ServerErrorMiddleware`; Swagger UI is Connexion's middleware, set up
through its `add_api`. Starlette's `Router` ends the stack: it answers the ASGI lifespan.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from connexion.middleware.swagger_ui import SwaggerUIMiddleware
from connexion.spec import Specification
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.routing import Router
from starlette.types import ASGIApp

from mock_server.stack import Layer, build, proxy_stack
from reference_impl.app import SWAGGER_UI_OPTIONS
from reference_impl.errors import starlette_handlers
from session_spec import load_spec
from session_spec.rules import OperationTable


def swagger_ui(spec_path: Path) -> Any:
    """A factory of Connexion's Swagger UI layer for the spec at `spec_path`, as the reference serves it."""
    specification = Specification.load(spec_path)

    def layer(app: ASGIApp) -> SwaggerUIMiddleware:
        middleware = SwaggerUIMiddleware(app)
        middleware.add_api(specification, swagger_ui_options=SWAGGER_UI_OPTIONS)
        return middleware

    return layer


class ProxyApp:
    """The proxy's ASGI app: `layers` (its declared stack) around Starlette's `Router`."""

    def __init__(self, layers: list[Layer]) -> None:
        self.layers = layers
        self.app = build(layers, Router())

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


def create_proxy_app(spec_path: Path, **layers: Any) -> ProxyApp:
    """The proxy app; `layers` are the shared layers and the proxy (mock_server.stack.proxy_stack's names)."""
    handlers = starlette_handlers(OperationTable(load_spec(spec_path)).methods)
    return ProxyApp(proxy_stack(
        server_error=partial(ServerErrorMiddleware, handler=handlers[Exception]),
        exceptions=partial(ExceptionMiddleware, handlers=handlers),
        swagger_ui=swagger_ui(spec_path),
        **layers,
    ))
