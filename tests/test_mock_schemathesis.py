"""Schemathesis from openapi.yaml against session-mock: the mock's layers keep every operation conforming."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS

from mock_server import create_mock_app
from reference_impl.serving import LiveServer
from session_spec import SPEC_PATH

schema = schemathesis.openapi.from_path(SPEC_PATH)
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=30)


@pytest.fixture(scope="module")
def mock_url() -> Iterator[str]:
    with LiveServer(create_mock_app()) as server:
        yield server.base_url


@schema.parametrize()
def test_every_operation_of_the_mock_conforms_with_positive_and_negative_data(case: schemathesis.Case, mock_url: str) -> None:
    case.call_and_validate(base_url=mock_url, checks=CHECKS.get_all())
