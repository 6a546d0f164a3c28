"""Schemathesis (its Python API) from openapi.yaml against the served reference implementation:
all checks, positive and negative data, and the stateful phase through the spec's links."""

from __future__ import annotations

import asyncio

import schemathesis
from hypothesis import settings
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS

from reference_impl import create_app
from reference_impl.serving import LiveServer
from session_spec import SPEC_PATH

schema = schemathesis.openapi.from_path(SPEC_PATH)
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=40)
ALL_CHECKS = CHECKS.get_all()


@schema.parametrize()
def test_every_operation_conforms_with_positive_and_negative_data(case: schemathesis.Case, base_url: str) -> None:
    case.call_and_validate(base_url=base_url, checks=ALL_CHECKS)


def test_stateful_chains_through_the_links_conform() -> None:
    app = create_app()
    with LiveServer(app) as server:

        class Workflow(schema.as_state_machine()):  # type: ignore[misc]
            def setup(self) -> None:
                # Each scenario starts from an empty store, so a replayed scenario meets the same
                # answers (an id created by an earlier scenario would turn a 201 into a 409).
                asyncio.run(app.store.clear())

            def get_call_kwargs(self, case: schemathesis.Case) -> dict:
                return {"base_url": server.base_url}

            def validate_response(self, response, case, additional_checks=None, **kwargs) -> None:
                case.validate_response(response, checks=ALL_CHECKS, transport_kwargs={"base_url": server.base_url})

        Workflow.run(settings=settings(max_examples=40, stateful_step_count=8, deadline=None))
