"""The mock's middleware stack, declared once: outermost first, each layer with the one-line reason it is there.

`mock_stack` reads as Starlette's `build_middleware_stack` does: the whole stack in one list. It
holds the mock's own layers and, in their places, the reference's (Connexion's default middlewares
and the reference's two additions, taken from `reference_impl.app.reference_middlewares`, in their
order: tests/test_mock_layers.py checks that none is dropped or moved). A layer whose feature is off
is left out (`Layer.middleware` is None) and costs nothing. `connexion_speedups.FastAsyncApp` then
swaps Connexion's classes for their faster twins and adds its dispatch layer innermost.

docs/architecture.md's list of the layers a request passes is `flow_section()` (checked by a test;
`session-docs reference --write docs/` rewrites it, through the `session_docs.blocks` entry point
`flow_markdown`; `python -m mock_server.stack --write docs/architecture.md` does too).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from connexion.middleware.context import ContextMiddleware
from connexion.middleware.exceptions import ExceptionMiddleware
from connexion.middleware.lifespan import LifespanMiddleware
from connexion.middleware.request_validation import RequestValidationMiddleware
from connexion.middleware.response_validation import ResponseValidationMiddleware
from connexion.middleware.routing import RoutingMiddleware
from connexion.middleware.security import SecurityMiddleware
from connexion.middleware.server_error import ServerErrorMiddleware
from connexion.middleware.swagger_ui import SwaggerUIMiddleware

from reference_impl.bodyless import IgnoreBodyOfBodylessOperations
from reference_impl.json_body import StrictJsonBody


@dataclass(frozen=True)
class Layer:
    """One layer of the stack: a name, why it is there, and the middleware (None: off here)."""

    name: str
    reason: str
    middleware: Any

    @property
    def middleware_class(self) -> Any:
        return self.middleware.func if isinstance(self.middleware, partial) else self.middleware


def _by_class(middlewares: list[Any]) -> dict[Any, Any]:
    return {(entry.func if isinstance(entry, partial) else entry): entry for entry in middlewares}


def _edge(mock: dict[str, Any]) -> list[Layer]:
    """The outer layers the mock and the proxy share: they see every request first."""
    return [
        Layer("forwarded prefix", "--root-path, and X-Forwarded-Prefix/-Host/-Proto from --forwarded-allow-ips: Swagger UI and servers use the public URL", mock["forwarded"]),
        Layer("namespaces", "X-Mock-Namespace or the session_mock_ns cookie: each e2e worker its own sessions, journal and reset", mock["namespaces"]),
        Layer("reset barrier", "notes API requests in flight: POST /__mock/reset waits for them (5 s), cancels the rest (503) and holds new ones", mock["barrier"]),
        Layer("heap freeze", "session-mock only: freezes the start-up heap so full collections do not stall answers", mock["freeze_heap"]),
        Layer("request journal", "notes every request's answer status for /__mock/requests and the access log", mock["journal"]),
        Layer("allowed hosts", "a Host that is not loopback, the bound address or --allowed-host answers 403 JSON (DNS rebinding)", mock["hosts"]),
        Layer("CORS", "lets a dev server on another origin call the mock; refused preflights answer JSON", mock["cors"]),
    ]


def _admin(mock: dict[str, Any]) -> list[Layer]:
    """The layers the mock and the proxy share inside error rendering: they raise errors for it to render."""
    return [
        Layer("body limit", "bodies over 1 MiB answer 413 before anything reads them; chunked bodies get a length", mock["body_limit"]),
        Layer("admin routes", "/__mock/ (reset, journal, seeding, sessions, violations) and /, apart from the API", mock["admin"]),
    ]


def mock_stack(reference: list[Any], **mock: Any) -> list[Layer]:
    """The mock's whole stack, outermost first.

    `reference` is the reference's middleware list; `mock` holds the mock's layers, each a
    middleware (class or partial) or None when off: `close_store`, `forwarded`, `namespaces`, `barrier`, `freeze_heap`, `journal`, `hosts`, `cors`,
    `profile`, `body_limit`, `admin`, `scenarios`.
    """
    ref = _by_class(reference)
    return [
        Layer("server-error guard", "Connexion's: an unexpected error answers 500 JSON, never a traceback", ref[ServerErrorMiddleware]),
        Layer("store closing", "closes the store at shutdown (SIGINT/SIGTERM), the last moment the app is sure to see", mock["close_store"]),
        *_edge(mock),
        Layer("production profile", "--profile: answers as a named deployment does where it differs from the contract", mock["profile"]),
        Layer("exception handling", "Connexion's: every error is rendered by reference_impl.errors in the contract's shape", ref[ExceptionMiddleware]),
        *_admin(mock),
        Layer("Swagger UI", "Connexion's: the UI at /api/v1/ui/ (speed-up: consulted only on its paths)", ref[SwaggerUIMiddleware]),
        Layer("routing", "Connexion's: finds the operationId of a request from openapi.yaml", ref[RoutingMiddleware]),
        Layer("scenarios", "--latency, Prefer/__ delays and forced documented answers (before validation; no state changes)", mock["scenarios"]),
        Layer("security", "Connexion's: the contract declares no security schemes, so it passes everything", ref[SecurityMiddleware]),
        Layer("strict JSON body", "the reference's: JSON media types as FastAPI reads them, strict RFC 8259 JSON only", ref[StrictJsonBody]),
        Layer("request validation", "Connexion's: parameters and bodies against openapi.yaml, 422 otherwise", ref[RequestValidationMiddleware]),
        Layer("response validation", "Connexion's: every answer against openapi.yaml (the reference cannot drift from it)", ref[ResponseValidationMiddleware]),
        Layer("lifespan", "Connexion's: runs the app's start-up and shutdown", ref[LifespanMiddleware]),
        Layer("body-less operations", "the reference's: a body sent to an operation that takes none is ignored, as FastAPI does", ref[IgnoreBodyOfBodylessOperations]),
        Layer("context", "Connexion's: the request context handlers may read", ref[ContextMiddleware]),
    ]


def proxy_stack(**proxy: Any) -> list[Layer]:
    """The proxy's stack (`--proxy`), outermost first: the mock's outer layers around the proxy.

    No store, no routing, no reference: `proxy` is the forwarding layer, which answers every request
    that reaches it; `server_error`, `exceptions` and `swagger_ui` are Starlette's and Connexion's
    classes set up for it (mock_server.proxy_app); the others as for `mock_stack`.
    """
    return [
        Layer("server-error guard", "Starlette's: an unexpected error answers 500 JSON (reference_impl.errors), never a traceback", proxy["server_error"]),
        *_edge(proxy),
        Layer("exception handling", "Starlette's, with reference_impl.errors' renderers: every error in the contract's shape", proxy["exceptions"]),
        *_admin(proxy),
        Layer("Swagger UI", "Connexion's: the UI at /api/v1/ui/, trying out the deployment through the proxy", proxy["swagger_ui"]),
        Layer("scenarios", "--latency, Prefer/__ delays and forced answers before the request leaves (a forced one never reaches the deployment)", proxy["scenarios"]),
        Layer("proxy", "forwards every other request to the deployment and checks the exchange (session_spec.exchanges)", proxy["proxy"]),
    ]


def build(stack: list[Layer], app: Any) -> Any:
    """`app` wrapped in the stack's layers that are on, the first outermost (Starlette's `build_middleware_stack`)."""
    for layer in reversed(stack):
        if layer.middleware is not None:
            app = layer.middleware(app)
    return app


def middlewares(stack: list[Layer]) -> list[Any]:
    """The middleware list to run: the layers that are on, outermost first."""
    return [layer.middleware for layer in stack if layer.middleware is not None]


def flow_section(stack: list[Layer], proxy: list[Layer]) -> str:
    """The documentation's account of the stacks (every layer, on or off by default)."""
    lines = ["uvicorn, then each layer outermost first (`mock_server/stack.py` declares them; this list is generated from it):", ""]
    lines += [f"{number}. **{layer.name}**: {layer.reason}" for number, layer in enumerate(stack, 1)]
    lines += [
        "",
        "then, with the speed-ups (`connexion_speedups.FastAsyncApp`), handlers called directly; the handler "
        "(`reference_impl/handlers.py`) asks the store, and the answer goes back out through the same layers.",
        "",
        "With `--proxy URL` the mock is an app of its own (`mock_server/proxy_app.py`), with no store and no reference:",
        "",
    ]
    lines += [f"{number}. **{layer.name}**: {layer.reason}" for number, layer in enumerate(proxy, 1)]
    return "\n".join(lines)


def flow_markdown() -> str:
    """`flow_section` of the mock as `session-mock` builds it, and of the proxy (the documentation's block)."""
    from mock_server.app import declared_proxy_stack, declared_stack

    return flow_section(declared_stack(), declared_proxy_stack())


FLOW_BLOCK = re.compile(r"(<!-- stack:start[^\n]*-->\n)(.*?)(<!-- stack:end -->)", re.DOTALL)
"""The block the flow section lives in, between `<!-- stack:start ... -->` and `<!-- stack:end -->`."""


def write_flow_section(page: Path) -> None:
    """Replace the text between `<!-- stack:start ... -->` and `<!-- stack:end -->` in `page`."""
    text = page.read_text(encoding="utf-8")
    if FLOW_BLOCK.search(text) is None:
        raise SystemExit(f"{page} has no <!-- stack:start --> ... <!-- stack:end --> section")
    page.write_text(FLOW_BLOCK.sub(lambda found: found.group(1) + flow_markdown() + "\n" + found.group(3), text, count=1), encoding="utf-8")


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["--write"] and len(sys.argv) == 3:
        write_flow_section(Path(sys.argv[2]))
    else:
        print(flow_markdown())
