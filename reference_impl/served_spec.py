"""The contract served as written: `/api/v1/openapi.json` (and `.yaml`, and Swagger UI's source).

Connexion would serve its own resolved copy (every `$ref` inlined, `servers: [{url: ""}]`), from
which client generators invent names (`GetSessionResponse200`) instead of using the contract's
components (`Session`). This serves the document people edit, components and names intact, with one
change: `servers` names the server that answers (its base URL as the request saw it, so a reverse
proxy's `root_path` is included), so "Try it out" and generated clients talk to it.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import yaml
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from session_spec.rules import allow_header

SPEC_JSON_PATH = "/api/v1/openapi.json"
SPEC_YAML_PATH = "/api/v1/openapi.yaml"
ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "TRACE"]
"""What the views are routed for: they refuse all but GET and HEAD themselves, with a 405 and `Allow`."""


def as_served(spec: dict[str, Any], base_url: str) -> dict[str, Any]:
    """`spec` with `servers` replaced by one entry for `base_url` (no trailing slash); all else unchanged."""
    served = copy.deepcopy(spec)
    served["servers"] = [{"url": base_url.rstrip("/"), "description": "this server"}]
    return served


def _only_get(request: Request) -> None:
    """Refuse every method but GET and HEAD with a 405 naming them (RFC 9110, 15.5.6).

    The views are routed for every method (`ANY_METHOD`): on a GET-only route another method falls
    through to Connexion's 404 instead of a 405.
    """
    if request.method not in ("GET", "HEAD"):
        raise HTTPException(405, headers={"Allow": allow_header(["GET"])})


class ServedSpec:
    """The two endpoints (Starlette views) that serve `spec` as written, as JSON and as YAML."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = copy.deepcopy(spec)

    async def json(self, request: Request) -> Response:
        _only_get(request)
        body = json.dumps(as_served(self.spec, str(request.base_url)), ensure_ascii=False, indent=2)
        return Response(body, media_type="application/json")

    async def yaml(self, request: Request) -> Response:
        _only_get(request)
        body = yaml.safe_dump(as_served(self.spec, str(request.base_url)), sort_keys=False, allow_unicode=True)
        return Response(body, media_type="application/yaml")
