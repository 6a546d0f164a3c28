"""Verification results for the site: the JSON reports of `session-contract run --report-json` (format:
`contract_tests.report.render_json`), read and checked, grouped by deployment, newest run first.

A report this module cannot read is a `ReportError` whose message is one line: the file and what is wrong
(not JSON, a newer `schemaVersion` than this toolkit reads, a required field missing or of the wrong type).
Fields it does not know are ignored: the format only ever gains fields within a version.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from contract_tests.properties import PROPERTIES
from contract_tests.rates import Rate
from contract_tests.report import FAIL, INCONCLUSIVE, KNOWN, NOT_CHECKED, PASS, REPORT_SCHEMA_VERSION

OUTCOMES = (PASS, FAIL, KNOWN, NOT_CHECKED, INCONCLUSIVE)
NOT_RUN = "not run"  # a property the run did not select (absent from its report)
SUPPORTED_SCHEMA_VERSION = REPORT_SCHEMA_VERSION


class ReportError(ValueError):
    """A report that cannot be shown; the message names the file and the fault, on one line."""


@dataclass(frozen=True)
class Window:
    median_ms: float
    p95_ms: float
    max_ms: float


@dataclass(frozen=True)
class Measurement:
    shape: str
    k: int
    n: int
    rate: float
    low95: float
    high95: float
    needed: int
    window: Window | None
    text: str


@dataclass(frozen=True)
class Outcome:
    """One property's result in one run."""

    property_id: str
    statement: str
    outcome: str
    explanation: str = ""
    reproduction: str = ""
    known_reason: str = ""
    skip_reason: str = ""
    note: str = ""
    trim: bool = False
    script: str = ""
    requests: int = 0
    duration: float = 0.0
    measurements: tuple[Measurement, ...] = ()

    @property
    def is_finding(self) -> bool:
        """Worth a section of its own on the deployment's page."""
        return self.outcome in (FAIL, KNOWN, INCONCLUSIVE) or self.trim

    def short(self) -> str:
        """What the matrix cell's tooltip and the property list say beside the outcome."""
        if self.outcome == NOT_CHECKED:
            return self.skip_reason
        if self.outcome == KNOWN:
            return self.known_reason
        if self.trim:
            return "known deviation no longer seen: trim it from the deviations file"
        if self.measurements:
            return "; ".join(m.text for m in self.measurements)
        if self.outcome in (FAIL, INCONCLUSIVE):
            return self.explanation.splitlines()[0] if self.explanation else ""
        return self.note


@dataclass(frozen=True)
class WriteKind:
    """The quiet phase's read-your-writes sampling of one write kind (`readYourWrites`)."""

    kind: str
    checked: int
    missed: int
    summary: str

    def rate(self) -> Rate:
        return Rate(self.missed, self.checked)


@dataclass(frozen=True)
class CanaryAge:
    """What persistence.until-delete's note or explanation says about canaries planted by an earlier run."""

    count: int
    age_seconds: float
    age_text: str
    verdict: str  # "all intact", or what was gone or changed


_AGE = re.compile(r"(\d+) canar(?:y|ies) planted (\d+) (s|min|h|d) ago: ([^;]*)")
_UNITS = {"s": 1, "min": 60, "h": 3600, "d": 86400}


@dataclass
class Run:
    """One report."""

    source: Path
    label: str
    target: str
    tool_version: str
    started_at: datetime | None
    finished_at: datetime | None
    seed: int | None
    conformant: bool
    verdict_text: str
    stopped: str
    elapsed: float
    requests: int
    outcomes: dict[str, Outcome]
    writes: list[WriteKind]
    throttled: int
    waited_seconds: float
    rate_limit: float
    gave_up: list[str]
    canaries_planted: int
    sessions_created: int
    sessions_left: int
    hint: str
    base_url: str = ""  # the URL the run checked (credentials removed), when its options name one
    order: int = 0  # the position on the command line (ties of equal dates keep it)

    @property
    def when(self) -> datetime | None:
        return self.finished_at or self.started_at

    def when_text(self) -> str:
        return self.when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if self.when else "date unknown"

    def counts(self) -> dict[str, int]:
        return {o: sum(1 for r in self.outcomes.values() if r.outcome == o) for o in OUTCOMES}

    def counts_text(self) -> str:
        labels = {PASS: "passed", FAIL: "failed", KNOWN: "known", NOT_CHECKED: "not checked", INCONCLUSIVE: "inconclusive"}
        return ", ".join(f"{n} {labels[o]}" for o, n in self.counts().items() if n)

    def canary_age(self) -> CanaryAge | None:
        """The age of the oldest canary of an earlier run this run checked (--canary-state), if it checked any."""
        outcome = self.outcomes.get("persistence.until-delete")
        if outcome is None:
            return None
        match = _AGE.search(outcome.note) or _AGE.search(outcome.explanation)
        if match is None:
            return None
        count, amount, unit, verdict = match.groups()
        return CanaryAge(int(count), int(amount) * _UNITS[unit], f"{amount} {unit}", verdict.strip())


@dataclass
class Deployment:
    """Every run of one deployment label, the newest first."""

    label: str
    slug: str
    runs: list[Run] = field(default_factory=list)

    @property
    def newest(self) -> Run:
        return self.runs[0]

    @property
    def page(self) -> str:
        return f"results/{self.slug}.html"


# --- reading and checking one report ------------------------------------------------------------------


class _Fields:
    """Typed access to a report's fields; any fault is a ReportError naming the file and the field."""

    def __init__(self, name: str) -> None:
        self.name = name

    def fail(self, what: str) -> ReportError:
        return ReportError(f"{self.name}: {what}")

    def get(self, obj: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str, *, required: bool = True, default: Any = None) -> Any:
        path = f"{where}.{key}" if where else key
        if key not in obj:
            if required:
                raise self.fail(f"required field {path} is missing")
            return default
        value = obj[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds:
            value_ok = False
        else:
            value_ok = isinstance(value, kinds)
        if not value_ok:
            wanted = " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in kinds)
            raise self.fail(f"field {path} is {_TYPE_NAMES.get(type(value), type(value).__name__)}, not {wanted}")
        return value

    def obj(self, obj: dict[str, Any], key: str, where: str = "", *, required: bool = True) -> dict[str, Any]:
        value: dict[str, Any] = self.get(obj, key, dict, where, required=required, default={})
        return value

    def date(self, obj: dict[str, Any], key: str) -> datetime | None:
        text = self.get(obj, key, (str, type(None)), "", required=False)
        if text is None:
            return None
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise self.fail(f"field {key} is not an ISO 8601 date: {text[:40]!r}") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


_TYPE_NAMES: dict[type, str] = {dict: "an object", list: "a list", str: "a string", int: "an integer", float: "a number",
                                bool: "true or false", type(None): "null"}
_NUMBER = (int, float)


def _parse_json(path: Path, name: str) -> Any:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ReportError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise ReportError(f"{name}: is a folder, not a report file") from None
    except OSError as exc:
        raise ReportError(f"{name}: cannot read it: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ReportError(f"{name}: not a JSON report (not UTF-8 text: byte {raw[exc.start]:#04x} at offset {exc.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportError(f"{name}: not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None


def load_report(path: Path, name: str | None = None) -> Run:
    """Read and check one report; `name` is how error messages call the file (default: the path)."""
    name = name or str(path)
    document = _parse_json(path, name)
    f = _Fields(name)
    if not isinstance(document, dict):
        raise f.fail(f"not a session-contract report (its top level is {_TYPE_NAMES.get(type(document), 'a value')}, not an object)")
    if "schemaVersion" not in document:
        raise f.fail("not a session-contract report: required field schemaVersion is missing")
    version = document["schemaVersion"]
    if isinstance(version, bool) or not isinstance(version, int):
        raise f.fail(f"schemaVersion {json.dumps(version)[:20]} is not a version number")
    if version > SUPPORTED_SCHEMA_VERSION:
        raise f.fail(f"schemaVersion {version} is newer than this toolkit reads ({SUPPORTED_SCHEMA_VERSION}): upgrade session-contract-toolkit")
    if version < 1:
        raise f.fail(f"unknown schemaVersion {version} (this toolkit reads 1 to {SUPPORTED_SCHEMA_VERSION})")
    tool = f.obj(document, "tool")
    deployment = f.obj(document, "deployment")
    label = f.get(deployment, "label", str, "deployment")
    if not label.strip():
        raise f.fail("field deployment.label is empty")
    verdict = f.obj(document, "verdict")
    properties = f.get(document, "properties", list, "")
    outcomes: dict[str, Outcome] = {}
    for index, item in enumerate(properties):
        where = f"properties[{index}]"
        if not isinstance(item, dict):
            raise f.fail(f"{where} is {_TYPE_NAMES.get(type(item), 'a value')}, not an object")
        outcome = _outcome(f, item, where)
        outcomes[outcome.property_id] = outcome
    writes: list[WriteKind] = []
    for kind, value in f.obj(document, "readYourWrites", required=False).items():
        at = f"readYourWrites.{kind}"
        if not isinstance(value, dict):
            raise f.fail(f"field {at} is {_TYPE_NAMES.get(type(value), 'a value')}, not an object")
        writes.append(WriteKind(kind, f.get(value, "checked", int, at), f.get(value, "missed", int, at),
                                f.get(value, "summary", str, at, required=False, default="")))
    throttling = f.obj(document, "throttling", required=False)
    canaries = f.obj(document, "canaries", required=False)
    cleanup = f.obj(document, "cleanup", required=False)
    requests = f.obj(document, "requests", required=False)
    seed = f.get(document, "seed", (int, type(None)), "", required=False)
    return Run(
        source=path,
        label=label,
        target=f.get(deployment, "target", str, "deployment", required=False, default=label),
        tool_version=f.get(tool, "version", str, "tool"),
        started_at=f.date(document, "startedAt"),
        finished_at=f.date(document, "finishedAt"),
        seed=seed,
        conformant=f.get(verdict, "conformant", bool, "verdict"),
        verdict_text=f.get(verdict, "text", str, "verdict"),
        stopped=f.get(verdict, "stopped", str, "verdict", required=False, default=""),
        elapsed=float(f.get(document, "elapsedSeconds", _NUMBER, "", required=False, default=0.0)),
        requests=f.get(requests, "total", int, "requests", required=False, default=0),
        outcomes=outcomes,
        writes=writes,
        throttled=f.get(throttling, "throttled", int, "throttling", required=False, default=0),
        waited_seconds=float(f.get(throttling, "waitedSeconds", _NUMBER, "throttling", required=False, default=0.0)),
        rate_limit=float(f.get(throttling, "rateLimit", _NUMBER, "throttling", required=False, default=0.0)),
        gave_up=[str(g) for g in f.get(throttling, "gaveUp", list, "throttling", required=False, default=[])],
        canaries_planted=f.get(canaries, "planted", int, "canaries", required=False, default=0),
        sessions_created=f.get(cleanup, "created", int, "cleanup", required=False, default=0),
        sessions_left=len(f.get(cleanup, "leftBehind", list, "cleanup", required=False, default=[])),
        hint=f.get(document, "hint", str, "", required=False, default=""),
        base_url=str(options.get("base_url") or "") if isinstance(options := document.get("options"), dict) else "",
    )


def _outcome(f: _Fields, item: dict[str, Any], where: str) -> Outcome:
    pid = f.get(item, "id", str, where)
    outcome = f.get(item, "outcome", str, where)
    if outcome not in OUTCOMES:
        raise f.fail(f"{where}.outcome {outcome!r} is none of {', '.join(OUTCOMES)}")
    measurements = []
    for index, m in enumerate(f.get(item, "measurements", list, where, required=False, default=[])):
        at = f"{where}.measurements[{index}]"
        if not isinstance(m, dict):
            raise f.fail(f"{at} is not an object")
        window = f.get(m, "window", (dict, type(None)), at, required=False)
        measurements.append(Measurement(
            shape=f.get(m, "shape", str, at), k=f.get(m, "k", int, at), n=f.get(m, "n", int, at),
            rate=float(f.get(m, "rate", _NUMBER, at)), low95=float(f.get(m, "low95", _NUMBER, at)),
            high95=float(f.get(m, "high95", _NUMBER, at)), needed=f.get(m, "needed", int, at, required=False, default=0),
            window=None if window is None else Window(float(f.get(window, "medianMs", _NUMBER, f"{at}.window")),
                                                      float(f.get(window, "p95Ms", _NUMBER, f"{at}.window")),
                                                      float(f.get(window, "maxMs", _NUMBER, f"{at}.window"))),
            text=f.get(m, "text", str, at, required=False, default=""),
        ))

    def text(key: str) -> str:
        value: str = f.get(item, key, str, where, required=False, default="")
        return value

    return Outcome(
        property_id=pid, statement=text("statement") or PROPERTIES.get(pid, ""), outcome=outcome,
        explanation=text("explanation"), reproduction=text("reproduction"), known_reason=text("knownReason"),
        skip_reason=text("skipReason"), note=text("note"), trim=f.get(item, "trim", bool, where, required=False, default=False),
        script=text("script"), requests=f.get(item, "requests", int, where, required=False, default=0),
        duration=float(f.get(item, "durationSeconds", _NUMBER, where, required=False, default=0.0)),
        measurements=tuple(measurements),
    )


# --- several reports -------------------------------------------------------------------------------------


def deployment_slug(label: str) -> str:
    """A file name for a deployment label: lowercase letters, digits and single `-` (`deployment` if none)."""
    text = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
    return text[:80].strip("-") or "deployment"


def load_reports(paths: Iterable[Path]) -> list[Run]:
    """Each report in turn (the first that cannot be read raises); a file named twice counts once."""
    runs: list[Run] = []
    seen: set[Path] = set()
    for order, path in enumerate(paths):
        key = Path(path).resolve()
        if key in seen:
            continue
        seen.add(key)
        run = load_report(Path(path))
        run.order = order
        runs.append(run)
    return runs


def group(runs: Iterable[Run]) -> list[Deployment]:
    """Deployments in order of their labels, each with its runs newest first; slugs unique."""
    by_label: dict[str, list[Run]] = {}
    for run in runs:
        by_label.setdefault(run.label, []).append(run)
    deployments: list[Deployment] = []
    used: set[str] = set()
    for label in sorted(by_label, key=lambda text: (text.casefold(), text)):
        base = deployment_slug(label)
        candidate, number = base, 1
        while candidate in used:
            number += 1
            candidate = f"{base}-{number}"
        used.add(candidate)
        ordered = sorted(by_label[label], key=lambda r: (r.when or datetime.min.replace(tzinfo=UTC), r.order), reverse=True)
        deployments.append(Deployment(label, candidate, ordered))
    return deployments


def property_rows(deployments: list[Deployment]) -> list[tuple[str, str]]:
    """(id, statement) of every property some deployment's newest run reports: the contract's order, then others."""
    statements: dict[str, str] = {}
    for deployment in deployments:
        for pid, outcome in deployment.newest.outcomes.items():
            statements.setdefault(pid, outcome.statement)
    known = [pid for pid in PROPERTIES if pid in statements]
    return [(pid, statements[pid] or PROPERTIES.get(pid, "")) for pid in [*known, *(p for p in statements if p not in PROPERTIES)]]
