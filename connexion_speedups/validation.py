"""Connexion's request and response validation, with the work that depends only on the spec done once.

Per request, Connexion's `RequestValidationOperation` builds a URI parser, a parameter validator
and a body validator, and its `ResponseValidationOperation` builds a media-type table from the
operation's `produces`, looks the response definition up twice and collects the answer's header
names. All of that depends only on the spec and, for the body validators, on the media type and
charset the message names. These subclasses (used through the app's public `middlewares` list)
build each of those once per operation (per media type and charset for the body validators,
a bounded number of them) and then run the very same checks, so the verdicts and the errors
(`BadRequestProblem`, `UnsupportedMediaTypeProblem`, `NonConformingResponseHeaders`, ... with
Connexion's own messages) are unchanged. The body validators themselves come from the app's
`validator_map` (connexion_speedups.validators).

`content_type` reads a `Content-Type` the way Connexion's `utils.extract_content_type` and
`utils.split_content_type` do, without building typing objects on every call.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

from connexion import utils
from connexion.middleware.request_validation import (
    RequestValidationAPI,
    RequestValidationMiddleware,
    RequestValidationOperation,
)
from connexion.middleware.response_validation import (
    ResponseValidationAPI,
    ResponseValidationMiddleware,
    ResponseValidationOperation,
)
from connexion.operations import AbstractOperation
from starlette.types import Receive, Scope, Send

logger = logging.getLogger("connexion.middleware.validation")

CACHED_BODY_VALIDATORS = 16  # per operation and kind; beyond that (odd charsets, letter cases) work is redone per message


def content_type(headers: list[tuple[bytes, bytes]], default: str) -> tuple[str, str]:
    """`(mime_type, encoding)` of the first `Content-Type` among ASGI `headers`.

    As Connexion's `extract_content_type` and `split_content_type`: the value is read as latin-1,
    the charset comes from a `charset=` parameter; `default` stands in for a missing header and
    `utf-8` for a missing charset, but an empty type (`Content-Type:` or `;charset=utf-8`) stays
    empty, so that validation refuses it as Connexion does.
    """
    for name, value in headers:
        if name.lower() == b"content-type":
            mime_type, encoding = utils.split_content_type(value.decode("latin-1"))
            # Only a missing part is replaced: an empty type stays empty (and is refused).
            return (default if mime_type is None else mime_type), ("utf-8" if encoding is None else encoding)
    return default, "utf-8"


class RemembersMediaTypes:
    """Connexion's media-type reading and checking for a validation operation, accepted types remembered.

    Mixed in before Connexion's operation class, whose `validate_mime_type` (a media-type table
    built per call) decides each type the first time; up to `CACHED_BODY_VALIDATORS` accepted
    types are remembered, a refused one raises as before every time.
    """

    _default_mime_type: str = "application/octet-stream"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._accepted_mime_types: set[str] = set()

    def extract_content_type(self, headers: list[tuple[bytes, bytes]]) -> tuple[str, str]:
        return content_type(headers, self._default_mime_type)

    def validate_mime_type(self, mime_type: str) -> None:
        if mime_type in self._accepted_mime_types:
            return
        super().validate_mime_type(mime_type)  # type: ignore[misc]  # Connexion's check: raises if refused
        if len(self._accepted_mime_types) < CACHED_BODY_VALIDATORS:
            self._accepted_mime_types.add(mime_type)


class CachedRequestValidationOperation(RemembersMediaTypes, RequestValidationOperation):  # type: ignore[misc]
    """Connexion's request validation of one operation, its validators built once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        operation = self._operation
        self._parameter_validator = self._validator_map["parameter"](
            operation.parameters,
            uri_parser=operation._uri_parser_class(operation.parameters, operation.body_definition()),
            strict_validation=self.strict_validation,
            security_query_params=self.security_query_params,
        )
        self._default_mime_type = operation.consumes[0] if operation.consumes else "application/octet-stream"
        self._body_validators: dict[tuple[str, str], Any] = {}

    def body_validator(self, mime_type: str, encoding: str) -> Any:
        """The body validator for this media type and charset (None: no schema or no validator)."""
        key = (mime_type, encoding)
        if key in self._body_validators:
            return self._body_validators[key]
        validator = None
        schema = self._operation.body_schema(mime_type)
        if schema:
            try:
                validator_class = self._validator_map["body"][mime_type]
            except KeyError:
                logger.info(f"Skipping validation. No validator registered for content type: {mime_type}.")
            else:
                validator = validator_class(
                    schema=schema,
                    required=self._operation.request_body.get("required", False),
                    nullable=utils.is_nullable(self._operation.body_definition(mime_type)),
                    encoding=encoding,
                    strict_validation=self.strict_validation,
                    uri_parser=self._operation.uri_parser_class(self._operation.parameters, self._operation.body_definition()),
                )
        if len(self._body_validators) < CACHED_BODY_VALIDATORS:
            self._body_validators[key] = validator
        return validator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self._parameter_validator.validate(scope)
        mime_type, encoding = self.extract_content_type(scope["headers"])
        self.validate_mime_type(mime_type)
        validator = self.body_validator(mime_type, encoding)
        if validator is not None:
            receive, scope = await validator.wrap_receive(receive, scope=scope)
        await self.next_app(scope, receive, send)


class CachedRequestValidationAPI(RequestValidationAPI):  # type: ignore[misc]
    def make_operation(self, operation: AbstractOperation) -> RequestValidationOperation:
        return CachedRequestValidationOperation(
            self.next_app, operation=operation, strict_validation=self.strict_validation, validator_map=self.validator_map
        )


class CachedRequestValidationMiddleware(RequestValidationMiddleware):  # type: ignore[misc]
    """Connexion's `RequestValidationMiddleware`, with its operations' validators built once."""

    api_cls = CachedRequestValidationAPI


class CachedResponseValidationOperation(RemembersMediaTypes, ResponseValidationOperation):  # type: ignore[misc]
    """Connexion's response validation of one operation, spec look-ups done once per status and type."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._default_mime_type = self._operation.produces[0] if self._operation.produces else "application/octet-stream"
        self._answers: dict[tuple[str, str], tuple[dict[str, Any], Any, dict[str, Any], bool]] = {}

    @staticmethod
    def validate_required_headers(headers: list[tuple[bytes, bytes]], response_definition: dict[str, Any]) -> None:
        # A response that declares no headers requires none: nothing to collect or compare.
        if response_definition.get("headers"):
            ResponseValidationOperation.validate_required_headers(headers, response_definition)

    def answer(self, status: str, mime_type: str) -> tuple[dict[str, Any], Any, dict[str, Any], bool]:
        """`(response definition, body validator class or None, schema, nullable)` for this answer."""
        key = (status, mime_type)
        if key not in self._answers:
            definition = self._operation.response_definition(status, mime_type)
            try:
                validator_class = self._validator_map["response"][mime_type]
            except KeyError:
                validator_class = None
            entry = (definition, validator_class, self._operation.response_schema(status, mime_type), utils.is_nullable(definition))
            if len(self._answers) >= CACHED_BODY_VALIDATORS:
                return entry
            self._answers[key] = entry
        return self._answers[key]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def wrapped_send(message: MutableMapping[str, Any]) -> None:
            nonlocal send
            if message["type"] == "http.response.start":
                headers = message["headers"]
                mime_type, encoding = self.extract_content_type(headers)
                if message["status"] < 400:
                    self.validate_mime_type(mime_type)
                definition, validator_class, schema, nullable = self.answer(str(message["status"]), mime_type)
                self.validate_required_headers(headers, definition)
                if validator_class is None:
                    logger.info(f"Skipping validation. No validator registered for content type: {mime_type}.")
                else:
                    send = validator_class(scope, schema=schema, nullable=nullable, encoding=encoding).wrap_send(send)
            await send(message)

        await self.next_app(scope, receive, wrapped_send)


class CachedResponseValidationAPI(ResponseValidationAPI):  # type: ignore[misc]
    def make_operation(self, operation: AbstractOperation) -> ResponseValidationOperation:
        if self.validate_responses:
            return CachedResponseValidationOperation(self.next_app, operation=operation, validator_map=self.validator_map)
        return super().make_operation(operation)


class CachedResponseValidationMiddleware(ResponseValidationMiddleware):  # type: ignore[misc]
    """Connexion's `ResponseValidationMiddleware`, with its operations' spec-only work done once."""

    api_cls = CachedResponseValidationAPI
