"""`TableRouting`: Connexion's routing middleware, with the common case looked up in a table.

Connexion's `RoutingMiddleware` finds the operation of a request through a Starlette router: a
mount per API base path, then a route per path and method, each match building child scopes,
and finally attaches `path_params` and the operationId to a copy of the scope it saw on entry.
This subclass (used through the app's public `middlewares` list) reads the very same routes once,
after the API is added, into a table of (path pattern, its convertors, method -> operation), and
answers a request from it when the request matches a route fully: an HTTP request, no
`root_path`, no newline in the path, under the one API, mounted at the root (the spec's server
URL has no path), with a path and method of the spec. It then leaves on the scope what Starlette's
routers leave there, and passes on what Connexion passes on: a copy of the scope with the
converted path parameters and the routing context (`api_base_path`, `operation_id`). Anything
else (unknown paths, methods a path does not serve, slash redirects, other base paths, a second
API) goes to Connexion's router as before, so its answers are unchanged.
"""

from __future__ import annotations

import re
from typing import Any

from connexion.middleware.abstract import ROUTING_CONTEXT
from connexion.middleware.routing import RoutingMiddleware, RoutingOperation
from starlette.convertors import Convertor
from starlette.routing import Mount, Route, Router
from starlette.types import Receive, Scope, Send

RouteGroup = tuple[re.Pattern[str], dict[str, Convertor[Any]], dict[str, Route]]


def routing_table(routes: list[Any]) -> tuple[Mount, list[RouteGroup]] | None:
    """The one root-mounted API's routes, in Starlette's order: pattern, convertors, method -> route.

    Consecutive routes of one path share a group; within a group the first route serving a method
    keeps it, as Starlette's first full match does. None unless Connexion's router is exactly one
    API mounted at the root with Connexion's own fallback (a second API at the root is chained or
    mounted after it, and Starlette then decides in ways a flat table would not), whose routes are
    all Connexion's.
    """
    if len(routes) != 1:
        return None
    mount = routes[0]
    if not (isinstance(mount, Mount) and mount.path == "" and isinstance(mount.app, Router)):
        return None
    if not isinstance(mount.app.default, RoutingOperation):
        return None
    table: list[RouteGroup] = []
    for route in mount.app.routes:
        if not (isinstance(route, Route) and isinstance(route.endpoint, RoutingOperation) and route.methods):
            return None
        if not table or table[-1][0].pattern != route.path_regex.pattern:
            table.append((route.path_regex, route.param_convertors, {}))
        for method in route.methods:
            table[-1][2].setdefault(method, route)
    return mount, table


class TableRouting(RoutingMiddleware):  # type: ignore[misc]
    """Connexion's `RoutingMiddleware`, with full matches of a root-mounted API found in a table."""

    table: tuple[Mount, list[RouteGroup]] | None = None

    def add_api(self, *args: Any, **kwargs: Any) -> None:
        super().add_api(*args, **kwargs)
        self.table = routing_table(self.router.routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # A newline goes to Connexion's router: Starlette's root mount (`.*`) stops at one, which
        # decides the answer there (a 404, or another base path) in ways a table would not.
        if self.table is not None and scope["type"] == "http" and not scope.get("root_path") and "\n" not in scope["path"]:
            mount, groups = self.table
            path, method = scope["path"], scope["method"]
            for pattern, convertors, routes in groups:
                match = pattern.fullmatch(path)
                if match is not None and method in routes:
                    route = routes[method]
                    params = {key: convertors[key].convert(value) for key, value in match.groupdict().items()}
                    forwarded = dict(scope)  # the copy Connexion makes on entry
                    # What Starlette's router, mount and route leave on the scope the outer layers see.
                    scope.setdefault("router", self.router)
                    scope.update({"app_root_path": scope.get("app_root_path", ""), "root_path": ""})
                    scope.update({"route": route, "endpoint": route.endpoint, "path_params": {**scope.get("path_params", {}), **params}})
                    operation: RoutingOperation = route.endpoint
                    forwarded.setdefault("path_params", {}).update(scope["path_params"])
                    routing = forwarded.setdefault("extensions", {}).setdefault(ROUTING_CONTEXT, {})
                    routing.update({"api_base_path": "", "operation_id": operation.operation_id})
                    await operation.next_app(forwarded, receive, send)
                    return
        await super().__call__(scope, receive, send)
