"""`--profile NAME`: answer as a named deployment does where it differs from openapi.yaml.

A profile is data, `mock_server/profiles/NAME.yaml` (package data; see `production.yaml` for the
format), applied by `ProfileMiddleware`, a pure ASGI layer around the reference implementation:

- `served` rules answer a method the deployment does not serve on a path (status, headers, JSON
  body) before the reference is reached, so such a request changes no state;
- `rewrite` rules change the JSON body of the reference's answer to given methods with a given
  status (`drop` keys, `set` keys).

A profile may ship a description of the deployment (`description: NAME.openapi.yaml` beside it):
the layer then serves it at `/api/v1/openapi.json` and `.yaml` (so Swagger UI and `session-contract
diff` show what the deployment describes), in place of the contract.

The default profile, `contract`, is the documented contract itself: no rules, no layer.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reference_impl.served_spec import SPEC_JSON_PATH, SPEC_YAML_PATH, ServedSpec
from session_spec.rules import path_pattern

CONTRACT = "contract"
DESCRIPTION_SUFFIX = ".openapi.yaml"
PROFILES = resources.files("mock_server").joinpath("profiles")


class ProfileError(ValueError):
    """A profile that does not exist or does not follow the profile format."""


@dataclass(frozen=True)
class Answer:
    """A whole answer: status, headers and (except for HEAD) a JSON body."""

    status: int
    headers: dict[str, str]
    body: Any

    def messages(self, method: str) -> tuple[Message, Message]:
        payload = b"" if method == "HEAD" or self.body is None else json.dumps(self.body).encode()
        headers = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in self.headers.items()]
        if self.body is not None:
            headers.append((b"content-type", b"application/json"))
        headers.append((b"content-length", str(len(payload)).encode()))
        return (
            {"type": "http.response.start", "status": self.status, "headers": headers},
            {"type": "http.response.body", "body": payload},
        )


@dataclass(frozen=True)
class Rule:
    """One difference of the deployment from the contract (see the module docstring)."""

    id: str
    why: str
    path: re.Pattern[str]
    properties: tuple[str, ...]
    served: frozenset[str] | None = None
    answer: Answer | None = None
    methods: frozenset[str] = frozenset()
    status: int | None = None
    drop: tuple[str, ...] = ()
    sets: dict[str, Any] = field(default_factory=dict)

    def refuses(self, method: str, path: str) -> bool:
        return self.served is not None and method not in self.served and self.path.fullmatch(path) is not None

    def rewrites(self, method: str, path: str) -> bool:
        return method in self.methods and self.path.fullmatch(path) is not None

    def rewrite_body(self, body: Any) -> Any:
        if not isinstance(body, dict):
            return body
        kept = {key: value for key, value in body.items() if key not in self.drop}
        return {**kept, **self.sets}


@dataclass(frozen=True)
class Profile:
    """A named set of rules; `Profile(CONTRACT)` has none (the documented contract)."""

    name: str
    summary: str = "the documented contract (openapi.yaml)"
    rules: tuple[Rule, ...] = ()
    sends_cors: bool = True  # whether the deployment itself sends CORS headers (the mock does unless --no-cors)
    description: dict[str, Any] | None = field(default=None, compare=False)  # the deployment's own OpenAPI description

    @property
    def properties(self) -> set[str]:
        """Every conformance property this profile is expected to fail."""
        return {prop for rule in self.rules for prop in rule.properties}

    def refusal(self, method: str, path: str) -> Rule | None:
        return next((rule for rule in self.rules if rule.refuses(method, path)), None)

    def rewrites_for(self, method: str, path: str) -> list[Rule]:
        return [rule for rule in self.rules if rule.rewrites(method, path)]


def available_profiles() -> list[str]:
    """The profile names this installation ships, `contract` first."""
    shipped = sorted(
        entry.name.removesuffix(".yaml") for entry in PROFILES.iterdir() if entry.name.endswith(".yaml") and not entry.name.endswith(DESCRIPTION_SUFFIX)
    )
    return [CONTRACT, *shipped]


def _rule(raw: Any) -> Rule:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not isinstance(raw.get("path"), str):
        raise ProfileError(f"each rule needs an id and a path, found {raw!r}")
    answer = raw.get("answer")
    rewrite = raw.get("rewrite") or {}
    if ("served" in raw) != (answer is not None):
        raise ProfileError(f"rule {raw['id']}: `served` and `answer` go together")
    if ("methods" in raw) != bool(rewrite):
        raise ProfileError(f"rule {raw['id']}: `methods` and `rewrite` go together")
    return Rule(
        id=raw["id"],
        why=str(raw.get("why", "")).strip(),
        path=path_pattern(raw["path"]),
        properties=tuple(raw.get("properties") or ()),
        served=frozenset(m.upper() for m in raw["served"]) if "served" in raw else None,
        answer=Answer(int(answer["status"]), {str(k): str(v) for k, v in (answer.get("headers") or {}).items()}, answer.get("body"))
        if answer is not None
        else None,
        methods=frozenset(m.upper() for m in raw.get("methods") or ()),
        status=int(raw["status"]) if "status" in raw else None,
        drop=tuple(rewrite.get("drop") or ()),
        sets=dict(rewrite.get("set") or {}),
    )


def load_profile(name: str) -> Profile:
    """The profile called `name`; ProfileError names the available ones when there is no such profile."""
    if name == CONTRACT:
        return Profile(CONTRACT)
    if name not in available_profiles():
        raise ProfileError(f"no profile {name!r}; available profiles: {', '.join(available_profiles())}")
    document = yaml.safe_load(PROFILES.joinpath(f"{name}.yaml").read_text(encoding="utf-8"))
    if not isinstance(document, dict) or not isinstance(document.get("rules"), list):
        raise ProfileError(f"profile {name!r} has no list of rules")
    rules = tuple(_rule(raw) for raw in document["rules"])
    description = None
    if document.get("description") is not None:
        file = str(document["description"])
        if not file.endswith(DESCRIPTION_SUFFIX) or "/" in file:
            raise ProfileError(f"profile {name!r}: description must name a *{DESCRIPTION_SUFFIX} file beside it, not {file!r}")
        description = yaml.safe_load(PROFILES.joinpath(file).read_text(encoding="utf-8"))
    return Profile(name, str(document.get("summary", name)), rules, bool(document.get("sends_cors", True)), description)


class ProfileMiddleware:
    """Applies a profile's rules to API requests (see the module docstring); other requests pass untouched."""

    def __init__(self, app: ASGIApp, profile: Profile) -> None:
        self.app = app
        self.profile = profile
        served = ServedSpec(profile.description) if profile.description is not None else None
        self.descriptions = {SPEC_JSON_PATH: served.json, SPEC_YAML_PATH: served.yaml} if served is not None else {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        view = self.descriptions.get(path) if method in ("GET", "HEAD") else None
        if view is not None:  # the deployment's own description, not the contract (other methods: the app's 405)
            await (await view(Request(scope, receive)))(scope, receive, send)
            return
        refusal = self.profile.refusal(method, path)
        if refusal is not None and refusal.answer is not None:
            for message in refusal.answer.messages(method):
                await send(message)
            return
        rewrites = self.profile.rewrites_for(method, path)
        if not rewrites:
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, _Rewriting(rewrites, send))


class _Rewriting:
    """The `send` of one request whose answer some rules may rewrite: holds the body until complete."""

    def __init__(self, rules: list[Rule], send: Send) -> None:
        self.rules = rules
        self.send = send
        self.start: Message | None = None
        self.chunks: list[bytes] = []

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            matching = [rule for rule in self.rules if rule.status in (None, message["status"])]
            if not matching:
                await self.send(message)
                self.rules = []
                return
            self.rules, self.start = matching, message
            return
        if self.start is None or message["type"] != "http.response.body":
            await self.send(message)
            return
        self.chunks.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        body = b"".join(self.chunks)
        try:
            document = json.loads(body)
        except ValueError:
            document = None
        if isinstance(document, dict):
            for rule in self.rules:
                document = rule.rewrite_body(document)
            body = json.dumps(document).encode()
        headers = [(k, v) for k, v in self.start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await self.send({**self.start, "headers": headers})
        await self.send({"type": "http.response.body", "body": body})
