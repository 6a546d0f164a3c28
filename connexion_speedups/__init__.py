"""Opt-in per-request speed-ups for a Connexion 3.3 `AsyncApp`, proven answer for answer against stock Connexion.

The one entry point is `FastAsyncApp`, a drop-in for `connexion.AsyncApp`: pass it where an app
class is chosen (`reference_impl.create_app(app_class=FastAsyncApp)`, as the mock does). It keeps
Connexion's own middleware stack and seams and only swaps, each by the narrowest override that
works (see each module's docstring for what it replaces and why):

- `validators`: the `validator_map` (Connexion's documented seam) with JSON Schemas compiled once
  by jsonschema-rs, falling back to the stock validator for every invalid value;
- `validation`: request and response validation with their spec-only work done once per operation;
- `routing`: routing with the common case (one API at the root) looked up in a table;
- `swagger_ui`: Swagger UI's router consulted only on paths its routes can match;
- `dispatch`: an innermost layer calling each handler without per-request decorator set-up.

`tests/test_connexion_speedups.py` and `tests/test_speedups_validators.py` compare all of it with
stock Connexion; `make connexion-gate CONNEXION=3.3.x` runs them against another Connexion version,
which is the gate for raising the pin in pyproject.toml.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import connexion
from connexion.middleware import ConnexionMiddleware, MiddlewarePosition
from connexion.middleware.request_validation import RequestValidationMiddleware
from connexion.middleware.response_validation import ResponseValidationMiddleware
from connexion.middleware.routing import RoutingMiddleware
from connexion.middleware.swagger_ui import SwaggerUIMiddleware

from connexion_speedups.dispatch import DirectDispatch
from connexion_speedups.routing import TableRouting
from connexion_speedups.swagger_ui import SwaggerUIOnItsPaths
from connexion_speedups.validation import CachedRequestValidationMiddleware, CachedResponseValidationMiddleware
from connexion_speedups.validators import compiled_validator_map

REPLACEMENTS: dict[type, type] = {
    RequestValidationMiddleware: CachedRequestValidationMiddleware,
    ResponseValidationMiddleware: CachedResponseValidationMiddleware,
    SwaggerUIMiddleware: SwaggerUIOnItsPaths,
    RoutingMiddleware: TableRouting,
}
"""Connexion's middleware classes and the subclasses that stand in for them."""


def faster_middlewares(middlewares: list[Any]) -> list[Any]:
    """`middlewares` (Connexion's classes, or partials) with each replaceable class swapped, `DirectDispatch` innermost."""
    return [REPLACEMENTS.get(entry, entry) if isinstance(entry, type) else entry for entry in middlewares] + [DirectDispatch]


class FastAsyncApp(connexion.AsyncApp):  # type: ignore[misc]
    """`connexion.AsyncApp` with the speed-ups: same constructor, same answers, less work per request.

    `middlewares` (default: Connexion's `default_middlewares`) get their replaceable classes swapped
    (`REPLACEMENTS`) and `DirectDispatch` appended; `validator_map` defaults to the compiled one.

    `add_middleware` is Connexion's, except that a `position` (named after a stock class, e.g.
    `BEFORE_ROUTING`) is also found at that class's replacement: Connexion finds positions by the
    exact class. As there, each add at a position goes inside the ones added before it there.
    """

    def __init__(self, import_name: str, *, middlewares: list[Any] | None = None, validator_map: dict[str, Any] | None = None, **options: Any) -> None:
        stack = faster_middlewares(list(ConnexionMiddleware.default_middlewares if middlewares is None else middlewares))
        super().__init__(
            import_name, middlewares=stack, validator_map=compiled_validator_map() if validator_map is None else validator_map, **options
        )

    def add_middleware(
        self, middleware_class: Any, position: MiddlewarePosition = MiddlewarePosition.BEFORE_CONTEXT, **options: Any
    ) -> None:
        if self.middleware.middleware_stack is not None:
            raise RuntimeError("Cannot add middleware after an application has started")
        stack = self.middleware.middlewares
        for index, entry in enumerate(stack):
            entry_class = entry.func if isinstance(entry, partial) else entry
            if entry_class is position.value or entry_class is REPLACEMENTS.get(position.value):
                stack.insert(index, partial(middleware_class, **options))
                return
        raise ValueError(f"Could not insert middleware at position {position.name}: no {position.value.__name__} in the stack")


__all__ = ["REPLACEMENTS", "FastAsyncApp", "compiled_validator_map", "faster_middlewares"]
