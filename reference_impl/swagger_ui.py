"""`SwaggerUIOnItsPaths`: Connexion's Swagger UI middleware, consulted only where its routes can match.

Connexion's `SwaggerUIMiddleware` runs every request through a Starlette router (a mount and its
UI routes, with slash redirects) before passing the request on. Only paths that contain the
literal start of one of those routes (`/api/v1/ui`) can match one or be redirected to one, so this
subclass, used through the app's public `middlewares` list, passes every other request straight
to the next layer and leaves the rest to Connexion. A route whose path starts with a parameter
would make every path a candidate: then nothing is passed by.
"""

from __future__ import annotations

from typing import Any

from connexion.middleware.swagger_ui import SwaggerUIMiddleware
from starlette.routing import BaseRoute, Mount, Router
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
    """Connexion's `SwaggerUIMiddleware`, skipped for paths none of its routes can match."""

    def add_api(self, *args: Any, **kwargs: Any) -> None:
        super().add_api(*args, **kwargs)
        found = literal_prefixes(self.router.routes)
        # A prefix that contains another adds nothing to the substring test below.
        self.prefixes = tuple(sorted(p for p in found if not any(q != p and q in p for q in found)))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # A substring test, so a root_path in front of the route path never hides a candidate.
        if scope["type"] == "http" and not any(prefix in scope["path"] for prefix in getattr(self, "prefixes", ("",))):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)
