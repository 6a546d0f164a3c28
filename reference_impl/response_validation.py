"""`CachedResponseValidationMiddleware`: Connexion's response validation, spec-only work done once.

For every answer, Connexion's `ResponseValidationOperation` rebuilds a media-type table from the
operation's `produces` to check the answer's content type, and collects the names of the answer's
headers to compare them with the response's required ones. The first depends only on the spec
and the answer's media type, so this subclass remembers the media types accepted per operation;
the second is skipped for responses that declare no headers (none is required). The checks, their verdicts and their errors
(`NonConformingResponseHeaders` with Connexion's own messages) are unchanged, as is everything
else the middleware does (the body validators come from the app's `validator_map`).
"""

from __future__ import annotations

from typing import Any

from connexion.middleware.response_validation import (
    ResponseValidationAPI,
    ResponseValidationMiddleware,
    ResponseValidationOperation,
)
from connexion.operations import AbstractOperation


class CachedResponseValidationOperation(ResponseValidationOperation):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._accepted_mime_types: set[str] = set()

    def validate_mime_type(self, mime_type: str) -> None:
        if mime_type in self._accepted_mime_types:
            return
        super().validate_mime_type(mime_type)  # raises NonConformingResponseHeaders if not produced
        self._accepted_mime_types.add(mime_type)

    @staticmethod
    def validate_required_headers(headers: list[tuple[bytes, bytes]], response_definition: dict[str, Any]) -> None:
        # A response that declares no headers requires none: nothing to collect or compare.
        if response_definition.get("headers"):
            ResponseValidationOperation.validate_required_headers(headers, response_definition)


class CachedResponseValidationAPI(ResponseValidationAPI):  # type: ignore[misc]
    def make_operation(self, operation: AbstractOperation) -> ResponseValidationOperation:
        if self.validate_responses:
            return CachedResponseValidationOperation(self.next_app, operation=operation, validator_map=self.validator_map)
        return super().make_operation(operation)


class CachedResponseValidationMiddleware(ResponseValidationMiddleware):  # type: ignore[misc]
    """Connexion's `ResponseValidationMiddleware`, with its operations' spec-only work cached."""

    api_cls = CachedResponseValidationAPI
