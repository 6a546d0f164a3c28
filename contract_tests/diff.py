"""`session-contract diff`: where a deployment's own OpenAPI description drifts from openapi.yaml.

Compares the contract with a deployment's description (a URL such as FastAPI's `/openapi.json`,
OpenAPI 3.1, or a file): operations on one side only, statuses documented on one side only,
parameters, and request and response body fields (names, types, required) that differ.
Equivalent spellings of a shape are not differences (see `contract_tests.openapi_shapes`). Two
rules keep the report to what a client can observe:
- HEAD answers never carry a body, so their bodies are not compared (FastAPI documents one anyway).
- An operation one side documents with nothing but 404 is the "not offered" endpoint (the
  contract's list endpoint); the other side leaving it out says the same.

Against a real service's description, three more rules keep the report readable:
- Only operations under the contract's paths are compared; operations of the service's other
  modules are summarised in one line (`other_operations` in JSON).
- A body (or field) the deployment describes as a free-form object, where the contract lists its
  fields, is one difference saying "not described", not one per missing field.
- An error status (4xx, 5xx) the contract documents and the deployment does not is of kind
  `undocumented-error` (FastAPI documents only the errors a route declares), so one wildcard,
  `undocumented-error:*`, can list them all as known.

Every difference has a stable id, `KIND:METHOD PATH[ STATUS][ FIELD]`, e.g.
`operation:PATCH /api/v1/session/{session_id}` or
`response-field:GET /api/v1/session/{session_id} 200 data`.

Known deviations (`--known-deviations FILE`, YAML): a top-level mapping from difference ids (or
globs, `"status:* 404"`) to the reason they are accepted, in the one format of
`contract_tests.deviations`, whose docstring states the glob rule: the conformance suite's property
ids (`list.always-404`) may stand beside difference ids and are left to `run`; any other key is an
error. The file is read before any document is fetched. Known ids that match nothing are reported
as stale, not failed.

Exit status: 0 when every difference is known, 1 when any is not, 2 when a document or the
known-deviations file cannot be fetched or read (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import httpx
import yaml

from contract_tests.deviations import DIFFERENCE_KINDS, DeviationsError, reason_for
from contract_tests.deviations import load_known_deviations as load_shared_deviations
from contract_tests.openapi_shapes import ApiShape, BodyFields, OperationShape, UnreadableDocument, api_shape
from contract_tests.redaction import Redactor, parse_header, with_credentials
from session_spec import SPEC_PATH
from session_spec.credentials import usage_text, without_credentials
from session_spec.tls import Tls, TlsError, tls_cause

DEFAULT_SPEC_PATH = SPEC_PATH
KINDS = DIFFERENCE_KINDS
ABSENT = "absent"
NOT_DESCRIBED = "object, not described (free-form)"


class CannotLoad(Exception):
    """A document or the known-deviations file could not be fetched or read; the message says why."""


@dataclass(frozen=True)
class Difference:
    """One way the deployment's description differs from the contract."""

    kind: str
    method: str
    path: str
    status: str | None
    location: str | None
    contract: str
    deployment: str

    @property
    def id(self) -> str:
        parts = [f"{self.kind}:{self.method} {self.path}", self.status, self.location]
        return " ".join(part for part in parts if part)

    @property
    def message(self) -> str:
        return f"contract: {self.contract}; deployment: {self.deployment}"


@dataclass(frozen=True)
class Finding:
    difference: Difference
    reason: str | None  # why it is accepted, when listed as a known deviation

    @property
    def known(self) -> bool:
        return self.reason is not None


# --- comparing -------------------------------------------------------------------------------------


def _only_404(operation: OperationShape) -> bool:
    return set(operation.responses) == {"404"}


def _compare_fields(kind: str, operation: OperationShape, status: str | None, ours: BodyFields, theirs: BodyFields) -> list[Difference]:
    def diff(location: str, contract: str, deployment: str) -> Difference:
        return Difference(kind, operation.method, operation.path, status, location or "(body)", contract, deployment)

    if ours[""].type != theirs[""].type:
        return [diff("", ours[""].type, theirs[""].type)]
    found: list[Difference] = []
    pruned: list[str] = []  # fields whose descendants are not compared (missing, or of another type)
    def children(fields: BodyFields, location: str) -> bool:
        if not location:
            return len(fields) > 1
        return any(key.startswith((location + ".", location + "[]")) for key in fields)

    def free_form(location: str) -> bool:
        """The deployment says "an object" here and nothing more, where the contract lists fields."""
        other = theirs.get(location)
        return other is not None and "object" in other.type and not children(theirs, location) and children(ours, location)

    if free_form(""):
        return [diff("", "object with described fields", NOT_DESCRIBED)]
    for location in sorted((set(ours) | set(theirs)) - {""}):
        if any(location.startswith((p + ".", p + "[]")) for p in pruned):
            continue
        mine, other = ours.get(location), theirs.get(location)
        if free_form(location):
            pruned.append(location)
            found.append(diff(location, "object with described fields", NOT_DESCRIBED))
            continue
        if mine is None or other is None or mine.type != other.type:
            pruned.append(location)
        if mine != other:
            found.append(diff(location, str(mine) if mine else ABSENT, str(other) if other else ABSENT))
    return found


def _request_body(operation: OperationShape) -> str:
    if operation.request is None:
        return ABSENT
    return "required" if operation.request_required else "optional"


def _documented(operation: OperationShape, status: str) -> str:
    return "documented" if status in operation.responses else ABSENT


def _compare_operation(ours: OperationShape, theirs: OperationShape) -> list[Difference]:
    found: list[Difference] = []
    for name in sorted(set(ours.parameters) | set(theirs.parameters)):
        mine, other = ours.parameters.get(name), theirs.parameters.get(name)
        if mine != other:
            found.append(Difference("parameter", ours.method, ours.path, None, name, str(mine) if mine else ABSENT, str(other) if other else ABSENT))
    if ours.method != "HEAD":
        if _request_body(ours) != _request_body(theirs):
            found.append(Difference("request-body", ours.method, ours.path, None, None, _request_body(ours), _request_body(theirs)))
        if ours.request is not None and theirs.request is not None:
            found += _compare_fields("request-field", ours, None, ours.request, theirs.request)
    for status in sorted(set(ours.responses) | set(theirs.responses)):
        if status not in theirs.responses or status not in ours.responses:
            kind = "undocumented-error" if status not in theirs.responses and status[:1] in ("4", "5") else "status"
            found.append(Difference(kind, ours.method, ours.path, status, None, _documented(ours, status), _documented(theirs, status)))
            continue
        our_body, their_body = ours.responses[status], theirs.responses[status]
        if ours.method == "HEAD":
            continue
        if (our_body is None) != (their_body is None):
            found.append(Difference("response-body", ours.method, ours.path, status, None,
                                    "no body" if our_body is None else "JSON body", "no body" if their_body is None else "JSON body"))
        elif our_body is not None and their_body is not None:
            found += _compare_fields("response-field", ours, status, our_body, their_body)
    return found


def other_operations(contract: ApiShape, deployment: ApiShape) -> list[str]:
    """`METHOD path` of the deployment's operations on paths the contract does not describe."""
    paths = {path for _, path in contract.operations}
    return sorted(f"{method} {path}" for method, path in deployment.operations if path not in paths)


def compare(contract: ApiShape, deployment: ApiShape) -> list[Difference]:
    """Every difference between the two descriptions on the contract's paths, in a stable order."""
    found: list[Difference] = []
    paths = {path for _, path in contract.operations}
    keys = set(contract.operations) | {key for key in deployment.operations if key[1] in paths}
    for key in sorted(keys, key=lambda k: (k[1], k[0])):
        ours, theirs = contract.operations.get(key), deployment.operations.get(key)
        if ours is not None and theirs is not None:
            found += _compare_operation(ours, theirs)
        elif ours is not None and not _only_404(ours):
            found.append(Difference("operation", ours.method, ours.path, None, None, "documented", ABSENT))
        elif theirs is not None and not _only_404(theirs):
            found.append(Difference("operation", theirs.method, theirs.path, None, None, ABSENT, "documented"))
    return found


# --- known deviations ------------------------------------------------------------------------------


def load_known_deviations(path: Path) -> dict[str, str]:
    """Difference ids (or `*` patterns) to reasons, from the one known-deviations format
    (`contract_tests.deviations`); the file's property ids are `run`'s and are left out."""
    try:
        return load_shared_deviations(path).differences
    except DeviationsError as exc:
        raise CannotLoad(str(exc)) from exc


def classify(differences: list[Difference], known: dict[str, str]) -> tuple[list[Finding], list[str]]:
    """Each difference with its known-deviation reason (if any: the key naming it, exact id before
    glob, by `contract_tests.deviations.reason_for`), and the known ids that matched nothing."""
    findings: list[Finding] = []
    used: set[str] = set()
    for difference in differences:
        named = reason_for(difference.id, known)
        if named is not None:
            used.add(named[0])
        findings.append(Finding(difference, named[1] if named is not None else None))
    return findings, [pattern for pattern in known if pattern not in used]


# --- loading ---------------------------------------------------------------------------------------


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def load_document(source: str, timeout: float = 10.0, headers: Mapping[str, str] | None = None, tls: Tls | None = None) -> dict[str, Any]:
    """An OpenAPI document from an http(s) URL or a file, JSON or YAML; CannotLoad when that fails.
    `headers` go with a URL's request (credentials in the URL become its Basic header), over `tls`
    (default: the environment's CA bundle); no message shows a header value or the URL's credentials."""
    if re.match(r"https?://", source):
        try:
            url, sent = with_credentials(source, headers or {}, "--against")
        except ValueError as exc:
            raise CannotLoad(str(exc)) from None
        shown = without_credentials(source)
        try:
            verify = (tls or Tls.from_options()).context()
            response = httpx.get(url, headers=sent, timeout=timeout, follow_redirects=True, verify=verify)
            response.raise_for_status()
        except TlsError as exc:
            raise CannotLoad(str(exc)) from None
        except httpx.HTTPStatusError as exc:
            raise CannotLoad(f"cannot fetch {shown}: it answered {exc.response.status_code}") from None
        except httpx.HTTPError as exc:
            cause = tls_cause(exc, httpx.URL(url).host)
            if cause is not None:
                raise CannotLoad(f"cannot fetch {shown}: TLS failed: {cause}") from None
            raise CannotLoad(f"cannot fetch {shown}: {Redactor(sent.values())(_reason(exc))}") from None
        text = response.text
    else:
        try:
            text = Path(source).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CannotLoad(f"cannot read {source}: {_reason(exc)}") from exc
    try:
        document = json.loads(text)
    except ValueError:
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise CannotLoad(f"cannot parse {source}: neither JSON nor YAML ({_reason(exc)})") from exc
    if not isinstance(document, dict):
        raise CannotLoad(f"cannot parse {source}: not an OpenAPI document")
    return document


def load_shape(source: str, timeout: float = 10.0, headers: Mapping[str, str] | None = None, tls: Tls | None = None) -> ApiShape:
    try:
        return api_shape(load_document(source, timeout, headers, tls))
    except UnreadableDocument as exc:
        raise CannotLoad(f"cannot read {without_credentials(source)}: {exc}") from exc


# --- reporting -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    contract: str
    contract_version: str
    deployment: str
    deployment_version: str
    findings: list[Finding]
    stale: list[str]
    others: list[str] = field(default_factory=list)  # the deployment's operations on other paths, not compared

    @property
    def new(self) -> list[Finding]:
        return [finding for finding in self.findings if not finding.known]

    @property
    def known(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.known]

    def headline(self) -> str:
        if not self.findings:
            return "no differences"
        return f"{len(self.findings)} difference{'s' * (len(self.findings) != 1)}: {len(self.new)} new, {len(self.known)} known"


def render_text(report: Report) -> str:
    lines = [
        f"contract:   {report.contract} (OpenAPI {report.contract_version})",
        f"deployment: {report.deployment} (OpenAPI {report.deployment_version})",
        report.headline(),
    ]
    if report.others:
        lines.append(_others_line(report.others))
    for title, findings in (("new", report.new), ("known", report.known)):
        if findings:
            lines.append(f"\n{title}:")
            for finding in findings:
                lines.append(f"  {finding.difference.id}\n      {finding.difference.message}")
                if finding.reason:
                    lines.append(f"      known: {finding.reason}")
    if report.stale:
        lines.append("\nknown deviations that matched nothing (stale?):")
        lines += [f"  {pattern}" for pattern in report.stale]
    return "\n".join(lines) + "\n"


def _others_line(others: list[str]) -> str:
    shown = ", ".join(others[:3])
    return (f"not compared: {len(others)} operation{'s' * (len(others) != 1)} on paths the contract does not describe "
            f"({shown}{', ...' if len(others) > 3 else ''})")


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: Report) -> str:
    lines = [
        "# Contract drift",
        "",
        (f"Contract `{report.contract}` (OpenAPI {report.contract_version}) against deployment "
         f"`{report.deployment}` (OpenAPI {report.deployment_version}): **{report.headline()}**."),
    ]
    if report.others:
        lines += ["", _md(_others_line(report.others))]
    if report.findings:
        lines += ["", "| status | difference | contract | deployment | known because |", "|---|---|---|---|---|"]
        for finding in [*report.new, *report.known]:
            d = finding.difference
            lines.append(f"| {'known' if finding.known else '**new**'} | `{_md(d.id)}` | {_md(d.contract)} | {_md(d.deployment)} | {_md(finding.reason or '')} |")
    if report.stale:
        lines += ["", "Known deviations that matched nothing: " + ", ".join(f"`{_md(p)}`" for p in report.stale)]
    return "\n".join(lines) + "\n"


def render_json(report: Report) -> str:
    return json.dumps(
        {
            "contract": {"source": report.contract, "openapi": report.contract_version},
            "deployment": {"source": report.deployment, "openapi": report.deployment_version},
            "differences": [
                {"id": f.difference.id, **asdict(f.difference), "message": f.difference.message, "known": f.known, "reason": f.reason}
                for f in report.findings
            ],
            "new": len(report.new),
            "known": len(report.known),
            "stale_known_deviations": report.stale,
            "other_operations": report.others,
        },
        indent=2,
    ) + "\n"


RENDERERS = {"text": render_text, "json": render_json, "md": render_markdown}


# --- command line ----------------------------------------------------------------------------------


class _ArgumentParser(argparse.ArgumentParser):
    """argparse whose usage error never echoes a value (a mistyped option's argument may be a token)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {usage_text(message)}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(
        prog="session-contract diff",
        description="Compare openapi.yaml with a deployment's own OpenAPI description (e.g. FastAPI's /openapi.json).",
    )
    parser.add_argument("--against", required=True, metavar="URL_OR_FILE", help="the deployment's OpenAPI document: an http(s) URL or a file (JSON or YAML)")
    parser.add_argument("--spec", default=str(DEFAULT_SPEC_PATH), metavar="FILE", help="the contract (default: %(default)s)")
    parser.add_argument("--format", choices=sorted(RENDERERS), default="text", help="output format (default: %(default)s)")
    parser.add_argument("--known-deviations", type=Path, metavar="FILE", help="YAML mapping of difference ids to the reason they are accepted")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS", help="HTTP timeout for --against URLs (default: %(default)s)")
    parser.add_argument("--header", action="append", default=[], metavar="'Name: value'",
                        help="header sent with the --against request (repeatable); values never appear in any output")
    parser.add_argument("--cacert", metavar="FILE", help="CA bundle (PEM) to trust for an https --against "
                        "(default: $SSL_CERT_FILE, then $REQUESTS_CA_BUNDLE, then certifi's)")
    parser.add_argument("--cert", metavar="FILE", help="client certificate (PEM) for mutual TLS; the key too, unless --key")
    parser.add_argument("--key", metavar="FILE", help="private key (PEM) of --cert")
    return parser


def run(args: argparse.Namespace) -> Report:
    try:
        headers = dict(parse_header(raw) for raw in getattr(args, "header", None) or [])
        tls = Tls.from_options(getattr(args, "cacert", None), getattr(args, "cert", None), getattr(args, "key", None))
    except ValueError as exc:  # (TlsError is one)
        raise CannotLoad(str(exc)) from None
    known = load_known_deviations(args.known_deviations) if args.known_deviations else {}  # before anything is fetched
    contract, deployment = load_shape(args.spec, args.timeout), load_shape(args.against, args.timeout, headers, tls)
    findings, stale = classify(compare(contract, deployment), known)
    return Report(args.spec, contract.version, without_credentials(args.against), deployment.version, findings, stale,
                  other_operations(contract, deployment))


def main(argv: list[str] | None = None) -> int:
    """Exit 0 when every difference is a known deviation, 1 when any is new, 2 when a document or the
    known-deviations file cannot be loaded."""
    args = _parser().parse_args(argv)
    try:
        report = run(args)
    except CannotLoad as exc:
        print(f"session-contract diff: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(RENDERERS[args.format](report))
    return 1 if report.new else 0


if __name__ == "__main__":
    sys.exit(main())
