"""`TableRouting`: Connexion's routing middleware, with the common case looked up in a table.

Connexion's `RoutingMiddleware` finds the operation of a request through a Starlette router: a
mount per API base path, then a route per path and method, each match building child scopes,
and finally attaches `path_params` and the operationId to a copy of the scope it saw on entry.
This subclass (used through the app's public `middlewares` list) reads the very same routes once,
after the API is added, into a table of (path pattern, its convertors, method -> operation), and
answers a request from it when the request matches a route fully: an HTTP request, no
`root_path`, no newline in the path, under an API mounted at the root (the spec's server URL has
no path), with a path and method of the spec. It then passes on what Connexion passes on: a copy of the scope with the
converted path parameters and the routing context (`api_base_path`, `operation_id`). Anything
else (unknown paths, methods a path does not serve, slash redirects, other base paths) goes to
Connexion's router as before, so its answers are unchanged.
"""

from __future__ import annotations

import re
from typing import Any

from connexion.middleware.abstract import ROUTING_CONTEXT
from connexion.middleware.routing import RoutingMiddleware, RoutingOperation
from starlette.convertors import Convertor
from starlette.routing import Mount, Route, Router
from starlette.types import Receive, Scope, Send

RouteGroup = tuple[re.Pattern[str], dict[str, Convertor[Any]], dict[str, RoutingOperation]]


def routing_table(routes: list[Any]) -> list[RouteGroup] | None:
    """The routes of APIs mounted at the root, in Starlette's order: pattern, convertors, method -> operation.

    Consecutive routes of one path share a group; within a group the first route serving a method
    keeps it, as Starlette's first full match does. None if any route is of another kind (then
    the table cannot stand for the router).
    """
    table: list[RouteGroup] = []
    for mount in routes:
        if not (isinstance(mount, Mount) and mount.path == "" and isinstance(mount.app, Router)):
            return None
        for route in mount.app.routes:
            if not (isinstance(route, Route) and isinstance(route.endpoint, RoutingOperation) and route.methods):
                return None
            if not table or table[-1][0] is not route.path_regex and table[-1][0].pattern != route.path_regex.pattern:
                table.append((route.path_regex, route.param_convertors, {}))
            for method in route.methods:
                table[-1][2].setdefault(method, route.endpoint)
    return table


class TableRouting(RoutingMiddleware):  # type: ignore[misc]
    """Connexion's `RoutingMiddleware`, with full matches of root-mounted APIs found in a table."""

    table: list[RouteGroup] | None = None

    def add_api(self, *args: Any, **kwargs: Any) -> None:
        super().add_api(*args, **kwargs)
        self.table = routing_table(self.router.routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # A newline goes to Connexion's router: Starlette's root mount (`.*`) stops at one, which
        # decides the answer there (a 404, or another base path) in ways a table would not.
        if self.table is not None and scope["type"] == "http" and not scope.get("root_path") and "\n" not in scope["path"]:
            path, method = scope["path"], scope["method"]
            for pattern, convertors, operations in self.table:
                match = pattern.fullmatch(path)
                if match is not None and method in operations:
                    operation = operations[method]
                    params = {key: convertors[key].convert(value) for key, value in match.groupdict().items()}
                    forwarded = dict(scope)  # the copy Connexion makes on entry
                    forwarded.setdefault("path_params", {}).update(params)
                    routing = forwarded.setdefault("extensions", {}).setdefault(ROUTING_CONTEXT, {})
                    routing.update({"api_base_path": "", "operation_id": operation.operation_id})
                    await operation.next_app(forwarded, receive, send)
                    return
        await super().__call__(scope, receive, send)
