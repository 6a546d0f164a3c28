"""Schemathesis from openapi.yaml: every response conforms, for positive and negative inputs, and
for chains through the spec's links. Requests go through the run's client, so the ownership rule
holds: a PATCH or DELETE on a well-formed id the run does not own is sent to a fresh id instead.

The run's `--seed` and `--max-examples` are given to Schemathesis when this module is imported
(before its tests are built), so one seed sends the same requests again. Paths are the case's own
(`/api/v1/...`), appended to `--base-url` by the client, so a base URL with a path prefix (a gateway)
works. A failure's reproduction is always the `curl` line of the request that failed, rendered by
the run's client (shell-safe, header values redacted)."""

from __future__ import annotations

from typing import Any

import httpx
import hypothesis
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS
from schemathesis.specs.openapi.checks import ensure_resource_availability

from contract_tests.client import ContractClient, as_uuid
from contract_tests.context import RunContext, active_options
from contract_tests.expect import ContractViolation
from contract_tests.registry import contract_property
from session_spec import SPEC_PATH

schema = schemathesis.openapi.from_path(SPEC_PATH)
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
_options = active_options()
if _options is not None:
    schema.config.generation.update(max_examples=_options.max_examples)
    if _options.seed is not None:
        schema.config.seed = _options.seed
ALL_CHECKS = CHECKS.get_all()
# In the stateful phase, ensure_resource_availability (ST302) misreads the ownership rule: a PATCH
# or DELETE whose id the run does not own is sent to a fresh id instead, and its 404 is taken for
# "created resource not found". Read-after-create is checked by create.read-your-writes and, after
# every write of the run, by consistency.read-your-writes.
CHANGING = {"POST", "PATCH", "DELETE"}


def send(client: ContractClient, case: schemathesis.Case[Any]) -> httpx.Response:
    """Send a generated case through the run's client, on an id the run may change."""
    raw = (case.path_parameters or {}).get("session_id")
    if case.method.upper() in CHANGING and isinstance(raw, str) and (sid := as_uuid(raw)) is not None and not client.owns(sid):
        case.path_parameters["session_id"] = client.fresh_id()
    kwargs = case.as_transport_kwargs(base_url=client.base_url)
    body: dict[str, Any] = {}
    if "json" in kwargs:
        body["json"] = kwargs["json"]
    elif isinstance(kwargs.get("data"), (bytes, str)):
        body["content"] = kwargs["data"]
    # The case's own path, not the URL's: the URL already carries the base URL's path prefix.
    path = case.formatted_path.split("?", 1)[0]
    return client.request(kwargs["method"], path, headers=kwargs.get("headers"), params=kwargs.get("params"), **body)


def validate(client: ContractClient, case: schemathesis.Case[Any], response: Any, sent: httpx.Response | None, **extra: Any) -> None:
    """Run every Schemathesis check; a failure becomes a violation (header values redacted) showing `sent`."""
    try:
        case.validate_response(
            response, checks=ALL_CHECKS, headers=dict(client.user_headers),  # type: ignore[arg-type]
            transport_kwargs={"base_url": client.base_url, "headers": dict(client.user_headers)}, **extra,
        )
    except Exception as exc:
        raise ContractViolation(client.redact(_explain(exc)), sent,
                                reproduction=client.curl(sent.request) if sent is not None else "") from None


def _explain(exc: BaseException, limit: int = 12) -> str:
    """Schemathesis' own failure text, trimmed (its `curl` line is left out: the client renders the
    reproduction from the request actually sent)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    kept = [line for line in lines if not line.startswith(("curl ", "Reproduce with")) and "sub-exception" not in line]
    return "\n  ".join(kept[:limit])[:1500] or type(exc).__name__


@contract_property("schema.stateless")
@schema.parametrize()
@hypothesis.settings(deadline=None, database=None, suppress_health_check=list(HealthCheck), print_blob=False,
                     phases=[Phase.explicit, Phase.generate])
def every_response_conforms_to_the_spec(case: schemathesis.Case[Any], contract_client: ContractClient) -> None:
    response = send(contract_client, case)
    validate(contract_client, case, response, response)


@contract_property("schema.stateful")
def chains_through_the_links_conform(contract_client: ContractClient, contract_run: RunContext) -> None:
    options = contract_run.options
    sent: list[httpx.Response] = []  # the last request the state machine sent, for the reproduction

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            self.before = contract_client.live_sessions_of("schema.stateful")

        def teardown(self) -> None:
            for sid in contract_client.live_sessions_of("schema.stateful") - self.before:
                contract_client.delete(str(sid))

        def call(self, case: schemathesis.Case[Any], **kwargs: Any) -> Any:
            response = send(contract_client, case)
            sent[:] = [response]
            return schemathesis.Response.from_any(response)

        def validate_response(self, response: Any, case: schemathesis.Case[Any], additional_checks: Any = None, **kwargs: Any) -> None:
            validate(contract_client, case, response, sent[0] if sent else None, recorder=self.recorder,
                     excluded_checks=[ensure_resource_availability])

    if options.seed is not None:
        Workflow = hypothesis.seed(options.seed)(Workflow)  # type: ignore[misc]
    try:
        Workflow.run(
            settings=hypothesis.settings(
                max_examples=options.max_examples, stateful_step_count=6, deadline=None, database=None,
                phases=[Phase.generate], suppress_health_check=list(HealthCheck), print_blob=False,
            )
        )
    except ContractViolation:
        raise
    except Exception as exc:
        raise ContractViolation(contract_client.redact(_explain(exc)), sent[0] if sent else None) from None
