"""`SwaggerUIOnItsPaths`: Connexion's Swagger UI middleware, consulted only where its routes can match.

Connexion's `SwaggerUIMiddleware` runs every request through a Starlette router (a mount and its
UI routes, with slash redirects) before passing the request on. Only paths that contain the
literal start of one of those routes (`/api/v1/ui`) can match one or be redirected to one, so this
subclass, used through the app's public `middlewares` list, passes every other request to the
next layer without trying them (leaving the scope as the stock layer does), and leaves the rest
to Connexion. A route whose path starts with a parameter would make every path a candidate: then
nothing is passed by.
"""

from __future__ import annotations

from typing import Any

from connexion.middleware.swagger_ui import SwaggerUIMiddleware
from starlette.routing import BaseRoute, Match, Mount, Router
from starlette.types import Receive, Scope, Send


def literal_prefixes(routes: list[BaseRoute], base: str = "") -> set[str]:
    """The literal start of every route's path (up to its first parameter, without a trailing slash)."""
    prefixes = set()
    for route in routes:
        path = base + str(getattr(route, "path", ""))
        if isinstance(route, Mount) and isinstance(route.app, Router):
            prefixes |= literal_prefixes(route.app.routes, path)
        else:
            prefixes.add(path.split("{", 1)[0].rstrip("/"))
    return prefixes


class SwaggerUIOnItsPaths(SwaggerUIMiddleware):  # type: ignore[misc]
    """Connexion's `SwaggerUIMiddleware`, its routes skipped for paths none of them can match.

    For such a path the stock layer runs its router, whose root mount matches and leaves its marks
    on the scope the outer layers see (Starlette's `router`, `route`, `endpoint`, `path_params`
    and root paths), finds no route and passes on a copy of the scope as it came in. This layer
    leaves the same marks (Starlette's own `Mount.matches`) and passes on the same copy, without
    trying the UI routes. Only for one API mounted at the root; otherwise it is the stock layer.
    """

    prefixes: tuple[str, ...] = ("",)  # "" is in every path: nothing skipped until add_api finds the routes
    mount: Mount | None = None

    def add_api(self, *args: Any, **kwargs: Any) -> None:
        super().add_api(*args, **kwargs)
        routes = self.router.routes
        if len(routes) == 1 and isinstance(routes[0], Mount) and routes[0].path == "":
            found = literal_prefixes(routes)
            # A prefix that contains another adds nothing to the substring test below.
            self.prefixes = tuple(sorted(p for p in found if not any(q != p and q in p for q in found)))
            self.mount = routes[0]
        else:
            self.prefixes, self.mount = ("",), None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # A substring test, so a root_path in front of the route path never hides a candidate.
        if self.mount is None or scope["type"] != "http" or any(prefix in scope["path"] for prefix in self.prefixes):
            await super().__call__(scope, receive, send)
            return
        forwarded = dict(scope)  # the stock layer's copy of the scope as it came in
        scope.setdefault("router", self.router)
        match, child_scope = self.mount.matches(scope)
        if match is Match.FULL:
            scope["route"] = self.mount
            scope.update(child_scope)
        await self.app(forwarded, receive, send)
