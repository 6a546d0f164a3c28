"""Schemathesis from openapi.yaml: every response conforms, for positive and negative inputs, and
for chains through the spec's links. Both checks are plain functions the engine calls; neither
needs pytest.

`schema.stateless` runs, for every operation, one Hypothesis test: the explicit cases Schemathesis
derives from the spec (its examples and its deterministic coverage cases: nulls, wrong types,
malformed ids), then `--max-examples` cases drawn from `APIOperation.as_strategy` in the positive
and the negative generation mode. It is what `schema.parametrize()` built under pytest, without
pytest. `schema.stateful` runs Schemathesis' state machine over the spec's links.

Every case is sent through the run's client, so the ownership rule holds (a PATCH or DELETE on a
well-formed id the run does not own is sent to a fresh id instead), and requests are counted,
logged and redacted like any other. Paths are the case's own (`/api/v1/...`), appended to
`--base-url` by the client, so a base URL with a path prefix (a gateway) works. A failure's
reproduction is the `curl` line of the request that failed, rendered by the client (shell-safe,
header values redacted). The run's `--seed` and `--max-examples` are read when a check runs, from
`contract_run.options`; one seed sends the same requests again.

Importing this module is cheap: Schemathesis and the spec are loaded the first time a check runs.
Cancellation: the run's token is asked before every case (Hypothesis' own waits are not ours), and
`Cancelled` (a BaseException) passes through Hypothesis and through this module untouched.
"""

from __future__ import annotations

import functools
import hashlib
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from contract_tests.baton import Baton, held, holding
from contract_tests.cancel import Cancelled
from contract_tests.client import ContractClient, as_uuid
from contract_tests.expect import ContractViolation
from contract_tests.parallel import ChargedThreadPool
from contract_tests.registry import HYPOTHESIS, contract_property

if TYPE_CHECKING:
    import schemathesis
    from schemathesis.checks import CheckFunction
    from schemathesis.generation.feedback import FeedbackSources

    from contract_tests.cancel import CancelToken

CHANGING = {"POST", "PATCH", "DELETE"}  # methods sent only to ids the run owns (the ownership rule)
MAX_REPORTED = 5  # other failing operations named in a report; the rest are counted


class GenerationOptions(Protocol):
    """What the schema checks read from the run's options."""

    @property
    def max_examples(self) -> int: ...

    @property
    def seed(self) -> int | None: ...


class SchemaRun(Protocol):
    """What the schema checks need from the engine's run context."""

    @property
    def options(self) -> GenerationOptions: ...

    @property
    def cancel(self) -> CancelToken: ...


@functools.cache
def loaded_schema() -> schemathesis.BaseSchema:
    """openapi.yaml as Schemathesis reads it, generating positive and negative inputs; loaded once."""
    import schemathesis
    from schemathesis import GenerationMode

    from session_spec import SPEC_PATH

    schema = schemathesis.openapi.from_path(SPEC_PATH)
    schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
    return schema


@functools.cache
def all_checks() -> tuple[CheckFunction, ...]:
    """Every check Schemathesis registers (importing its OpenAPI checks registers them)."""
    from schemathesis.checks import CHECKS, load_all_checks

    load_all_checks()
    return tuple(CHECKS.get_all())


def send(client: ContractClient, case: schemathesis.Case) -> httpx.Response:
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


def validate(client: ContractClient, case: schemathesis.Case, response: Any, sent: httpx.Response | None, **extra: Any) -> None:
    """Run every Schemathesis check; a failure becomes a violation (header values redacted) showing `sent`."""
    try:
        case.validate_response(
            response, checks=list(all_checks()), headers=dict(client.user_headers),
            transport_kwargs={"base_url": client.base_url, "headers": dict(client.user_headers), **client.tls.requests_kwargs()},
            **extra,
        )
    except (Exception, BaseExceptionGroup) as exc:  # Schemathesis' FailureGroup is a BaseExceptionGroup
        if isinstance(exc, BaseExceptionGroup) and exc.subgroup(Cancelled) is not None:
            raise
        raise ContractViolation(client.redact(_explain(exc)), sent,
                                reproduction=client.curl(sent.request) if sent is not None else "") from None


def _explain(exc: BaseException, limit: int = 12) -> str:
    """Schemathesis' own failure text, trimmed (its `curl` line is left out: the client renders the
    reproduction from the request actually sent)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    kept = [line for line in lines if not line.startswith(("curl ", "Reproduce with")) and "sub-exception" not in line]
    return "\n  ".join(kept[:limit])[:1500] or type(exc).__name__


def operation_seed(seed: int, label: str) -> int:
    """The run's seed mixed with an operation's label (as Schemathesis does), so operations with the
    same parameters draw different inputs; stable across processes."""
    digest = hashlib.blake2b(f"{seed}:{label}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def explicit_cases(operation: schemathesis.APIOperation, feedback: FeedbackSources) -> list[schemathesis.Case]:
    """The cases Schemathesis' explicit phases derive from the spec for `operation`: its examples and
    its coverage cases (boundary and negative values, in both generation modes).

    Built by the generators Schemathesis' own engine uses for its examples and coverage phases (no
    public strategy yields them; the `schemathesis>=4.32,<4.33` pin keeps them stable). They are what
    `schema.parametrize()` attached to each test as explicit examples, and what makes a 500 on a
    malformed id a certain finding rather than a likely one."""
    from schemathesis.generation.drivers import CoverageGenerator, ExamplesGenerator
    from schemathesis.generation.meta import content_type_probes_first
    from schemathesis.generation.overrides import Override

    schema = operation.schema
    coverage = schema.config.generation_for(operation=operation, phase="coverage")
    examples = ExamplesGenerator(operation=operation, override=Override(), feedback=feedback,
                                 fill_missing=schema.config.phases_for(operation=operation).examples.fill_missing)
    probes = CoverageGenerator(operation=operation, generation_modes=coverage.modes, generation_config=coverage,
                               auth_storage=None, override=Override(), feedback=feedback)
    return [*examples, *content_type_probes_first(probes)]


@functools.cache
def spec_feedback() -> FeedbackSources:
    """What steers generation, as Schemathesis' pytest plugin gives it to every operation: the spec's
    constants (also `as_strategy`'s default, built once here rather than once per strategy)."""
    from schemathesis.generation.feedback import FeedbackSources
    from schemathesis.python._constants.orchestrator import make_constants_value_source

    return FeedbackSources(constants_value_source=make_constants_value_source(loaded_schema()))


def _violation(exc: BaseException, client: ContractClient, label: str) -> tuple[str, ContractViolation]:
    """The violation a failed operation test shows, naming the operation: the first one Hypothesis
    raised (it groups distinct failures); any other error becomes one showing the client's last answer."""
    while isinstance(exc, BaseExceptionGroup):
        exc = next((e for e in exc.exceptions if isinstance(e, ContractViolation)), exc.exceptions[0])
    if not isinstance(exc, ContractViolation):
        last = client.last_response
        exc = ContractViolation(client.redact(_explain(exc)), last,
                                reproduction=client.curl(last.request) if last is not None else "")
    return label, ContractViolation(f"{label}: {exc.explanation}", exc.response, reproduction=exc.reproduction)


def _report(violations: list[tuple[str, ContractViolation]]) -> None:
    """Raise the first operation's violation, naming the other operations that failed too (each test
    of an operation ran to its end); the first one's request reproduces it."""
    if not violations:
        return
    (_, first), others = violations[0], violations[1:]
    if not others:
        raise first
    labels = [label for label, _ in others]
    shown = ", ".join(labels[:MAX_REPORTED]) + (f" and {len(labels) - MAX_REPORTED} more" if len(labels) > MAX_REPORTED else "")
    raise ContractViolation(f"{first.explanation}\n  (also failing: {shown})", first.response, reproduction=first.reproduction)


# cost: 25 examples against the reference on loopback took 1.3 s (234 requests) here; the state machine 0.8 s (386).
@contract_property("schema.stateless", exclusive=HYPOTHESIS, cost=2.0)
def every_response_conforms_to_the_spec(contract_client: ContractClient, contract_run: SchemaRun) -> None:
    """Every operation, its explicit cases then `max_examples` positive or negative ones: every answer
    passes all of Schemathesis' checks. Each operation's test runs to its end; the first failing
    operation is reported, naming the others."""
    import hypothesis
    from hypothesis import HealthCheck, Phase, Verbosity
    from hypothesis import strategies as st
    from schemathesis.core.result import Err

    options, cancel = contract_run.options, contract_run.cancel
    schema = loaded_schema()
    modes, feedback = schema.config.generation.modes, spec_feedback()
    settings = hypothesis.settings(
        max_examples=options.max_examples, deadline=None, database=None, derandomize=False, print_blob=False,
        suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate], verbosity=Verbosity.quiet,
    )
    violations: list[tuple[str, ContractViolation]] = []
    operations: list[Any] = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):  # an operation Schemathesis cannot read: the spec's fault, reported
            violations.append(("openapi.yaml", ContractViolation(f"openapi.yaml: {_explain(result.err())}")))
        else:
            operations.append(result.ok())
    found: dict[int, tuple[str, ContractViolation]] = {}
    # each operation's test runs in a thread of its own, taking the check's baton in turn (one of its
    # own when the caller holds none: called outside the engine, the threads must still take turns)
    baton = held() or Baton(HYPOTHESIS)

    def run_operation(index: int) -> None:
        with holding(baton, cancel):
            outcome = _test_operation(operations[index])
        if outcome is not None:
            found[index] = outcome

    def _test_operation(operation: Any) -> tuple[str, ContractViolation] | None:
        cancel.check()
        cases = st.one_of([operation.as_strategy(generation_mode=mode, feedback=feedback) for mode in modes])

        def conforms(case: schemathesis.Case) -> None:
            cancel.check()
            response = send(contract_client, case)
            validate(contract_client, case, response, response)

        test = hypothesis.given(case=cases)(conforms)
        # Hypothesis runs explicit examples in reverse order of attachment, as under schema.parametrize().
        for case in explicit_cases(operation, feedback):
            test = hypothesis.example(case=case)(test)
        if options.seed is not None:
            test = hypothesis.seed(operation_seed(options.seed, operation.label))(test)
        try:
            settings(test)()
        except Exception as exc:  # Cancelled is a BaseException: it passes through
            return _violation(exc, contract_client, operation.label)
        return None

    with ChargedThreadPool(max_workers=max(1, len(operations))) as pool:
        list(pool.map(run_operation, range(len(operations))))  # the first exception (Cancelled included) is raised
    violations += [found[index] for index in sorted(found)]
    _report(violations)


STATEFUL_MACHINES = 4
"""Schemathesis state machines run at once, sharing --max-examples: each in its own thread, taking turns
on the check's baton (`contract_tests.baton`), so a far target's round trips overlap."""


@contract_property("schema.stateful", exclusive=HYPOTHESIS, cost=1.0)
def chains_through_the_links_conform(contract_client: ContractClient, contract_run: SchemaRun) -> None:
    """Schemathesis' state machine over the spec's links: every answer of every chain conforms; each
    chain deletes the sessions it created. `STATEFUL_MACHINES` machines share `--max-examples`."""

    options = contract_run.options
    machines = max(1, min(STATEFUL_MACHINES, options.max_examples // 5))
    share = -(-options.max_examples // machines)
    baton = held() or Baton(HYPOTHESIS)  # as in schema.stateless
    failures: list[BaseException] = []

    def run_machine(number: int) -> None:
        with holding(baton, contract_run.cancel):
            try:
                _run_stateful(contract_client, contract_run, share, None if options.seed is None else options.seed + number)
            except BaseException as exc:  # handed to the check's thread below; Cancelled included
                failures.append(exc)

    with ChargedThreadPool(max_workers=machines) as pool:
        list(pool.map(run_machine, range(machines)))
    cancelled = next((f for f in failures if isinstance(f, Cancelled)), None)
    if cancelled is not None:
        raise cancelled
    if failures:
        raise failures[0]


def _session_of(case: schemathesis.Case, response: httpx.Response) -> str | None:
    """The session a case's request named, or the one its create made."""
    raw = (case.path_parameters or {}).get("session_id")
    if isinstance(raw, str):
        return raw
    if case.method.upper() == "POST" and response.status_code == 201:
        try:
            body = response.json()
        except ValueError:
            return None
        return str(body.get("sessionId")) if isinstance(body, dict) else None
    return None


def _run_stateful(contract_client: ContractClient, contract_run: SchemaRun, examples: int, seed: int | None) -> None:
    """One Schemathesis state machine of `examples` chains; each chain deletes what it created."""
    import hypothesis
    import schemathesis
    from hypothesis import HealthCheck, Phase
    from schemathesis.specs.openapi.checks import ensure_resource_availability

    cancel = contract_run.cancel
    # ensure_resource_availability (ST302) misreads the ownership rule: a PATCH or DELETE whose id the
    # run does not own is sent to a fresh id instead, and its 404 is taken for "created resource not
    # found". Read-after-create is checked by create.read-your-writes and, after every write of the
    # run, by consistency.read-your-writes.
    sent: list[httpx.Response] = []  # the last request this machine sent, for the reproduction

    class Workflow(loaded_schema().as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            self.created: set[str] = set()  # this chain's sessions (other machines' run meanwhile)

        def teardown(self) -> None:
            for sid in sorted(self.created):
                contract_client.delete(sid)

        def call(self, case: schemathesis.Case, **kwargs: Any) -> Any:
            cancel.check()
            response = send(contract_client, case)
            sent[:] = [response]
            sid = _session_of(case, response)
            if sid is not None and case.method.upper() == "POST" and response.status_code == 201:
                self.created.add(sid)
            elif sid is not None and case.method.upper() == "DELETE" and response.status_code in (200, 404):
                self.created.discard(sid)
            return schemathesis.Response.from_any(response)

        def validate_response(self, response: Any, case: schemathesis.Case, additional_checks: Any = None, **kwargs: Any) -> None:
            validate(contract_client, case, response, sent[0] if sent else None, recorder=self.recorder,
                     excluded_checks=[ensure_resource_availability])

    if seed is not None:
        Workflow = hypothesis.seed(seed)(Workflow)  # type: ignore[misc]
    try:
        Workflow.run(
            settings=hypothesis.settings(
                max_examples=examples, stateful_step_count=6, deadline=None, database=None,
                derandomize=False, phases=[Phase.generate], suppress_health_check=list(HealthCheck), print_blob=False,
            )
        )
    except ContractViolation:
        raise
    except Exception as exc:  # Cancelled is a BaseException: it passes through
        raise ContractViolation(contract_client.redact(_explain(exc)), sent[0] if sent else None) from None
