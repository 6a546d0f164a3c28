"""Results of a run, per property, and their renderings: terminal table, Markdown, JUnit XML."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from contract_tests.client import Hygiene, WriteLedger
from contract_tests.ledgers import ThrottleLedger
from contract_tests.printable import printable
from contract_tests.properties import PROPERTIES
from contract_tests.rates import Measured

PASS, FAIL, KNOWN, NOT_CHECKED = "pass", "fail", "known", "not checked"
INCONCLUSIVE = "inconclusive"  # a measurement whose time ran out before its sample size, with no violation seen
HYGIENE_CASE = "hygiene.cleanup"  # the JUnit testcase of what the run left on the target


@dataclass
class PropertyResult:
    """The outcome of one property over all the tests that check it."""

    property_id: str
    status: str = NOT_CHECKED
    explanation: str = ""
    reproduction: str = ""
    known_reason: str = ""
    trim: bool = False  # a known deviation that now holds
    skip_reason: str = ""
    duration: float = 0.0
    requests: int = 0
    note: str = ""  # what a passing check covered ("3 canaries held for 5 s")
    measurements: list[Measured] = field(default_factory=list)  # a measured property's shapes, k of n each
    script: str = ""  # a bash script replaying the failure (its session's requests, or its pair N times)

    def measured_text(self) -> str:
        return "; ".join(m.text() for m in self.measurements)


@dataclass
class RunResults:
    """Everything the reports say about one run."""

    target: str
    properties: dict[str, PropertyResult] = field(default_factory=dict)
    requests: int = 0
    shared_requests: int = 0  # canaries and cleanup: charged to no property
    writes: WriteLedger | None = None
    throttling: ThrottleLedger | None = None  # what throttling gateways made the client wait
    rate_limit: float = 0.0  # the request rate the run ended at (0: no limit)
    canaries_kept: int = 0  # canaries planted to outlive the run (--canary-state)
    canary_state: str = ""  # where their ids are kept
    hygiene: Hygiene = field(default_factory=Hygiene)
    elapsed: float = 0.0
    stopped: str = ""  # why the run ended early, if it did
    seed: int | None = None
    hint: str = ""
    label: str = ""  # the deployment's name in reports (--label, or the base URL without credentials)
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def failures(self) -> list[PropertyResult]:
        return [r for r in self.properties.values() if r.status == FAIL]

    @property
    def inconclusive(self) -> list[PropertyResult]:
        return [r for r in self.properties.values() if r.status == INCONCLUSIVE]

    @property
    def writes_checked(self) -> int:
        return self.writes.checked if self.writes else 0

    @property
    def writes_missed(self) -> int:
        return len(self.writes.misses) if self.writes else 0

    @property
    def sessions_left(self) -> list[str]:
        return self.hygiene.left_behind

    @property
    def conformant(self) -> bool:
        return not self.failures and not self.sessions_left and not self.stopped and not self.inconclusive

    def verdict(self) -> str:
        """The run's last line: `conformant` or why not."""
        if self.conformant:
            return "verdict: conformant"
        reasons = []
        if self.failures:
            reasons.append(f"{len(self.failures)} propert{'y' if len(self.failures) == 1 else 'ies'} violated "
                           f"({', '.join(r.property_id for r in ordered(self) if r.status == FAIL)})")
        if self.inconclusive:
            reasons.append(f"run incomplete: {len(self.inconclusive)} measurement{'' if len(self.inconclusive) == 1 else 's'} "
                           f"inconclusive ({', '.join(r.property_id for r in ordered(self) if r.status == INCONCLUSIVE)})")
        if self.sessions_left:
            reasons.append(f"{len(self.sessions_left)} sessions left behind")
        if self.stopped:
            reasons.append(f"run incomplete: {self.stopped}")
        return "verdict: NOT conformant: " + "; ".join(reasons)


def ordered(results: RunResults) -> list[PropertyResult]:
    return [results.properties[p] for p in PROPERTIES if p in results.properties]


def _status_label(result: PropertyResult) -> str:
    if result.status == KNOWN:
        return "known"
    if result.trim:
        return "pass (known deviation no longer seen: trim it)"
    if result.status == NOT_CHECKED and result.skip_reason:
        return f"not checked ({result.skip_reason})"
    if result.measurements and result.status in (PASS, INCONCLUSIVE):
        return f"{result.status} ({result.measured_text()})"
    if result.status == PASS and result.note:
        return f"pass ({result.note})"
    return result.status


def summary_lines(results: RunResults) -> list[str]:
    counts = {s: sum(1 for r in results.properties.values() if r.status == s) for s in (PASS, FAIL, KNOWN, NOT_CHECKED, INCONCLUSIVE)}
    lines = [
        f"target: {results.target}",
        f"seed: {results.seed} (repeat with --seed {results.seed})" if results.seed is not None else "seed: none",
        f"{counts[PASS]} passed, {counts[FAIL]} failed, {counts[KNOWN]} known deviations, {counts[NOT_CHECKED]} not checked"
        + (f", {counts[INCONCLUSIVE]} inconclusive" if counts[INCONCLUSIVE] else ""),
        (f"{results.requests} requests in {results.elapsed:.1f} s ({results.shared_requests} of them shared set-up and cleanup); "
         f"read-your-writes: {results.writes_missed} of {results.writes_checked} writes not visible at once (sampled in the quiet phase)"),
    ]
    if results.writes is not None:
        for kind, ledger in results.writes.kinds.items():
            if ledger.checked:
                lines.append(f"  {kind}: {ledger.summary()}")
    if results.throttling is not None and (results.throttling.throttled or results.throttling.gave_up):
        lines.append(f"throttling: {results.throttling.summary(results.rate_limit)}")
    lines.append(f"cleanup: {results.hygiene.summary()}")
    if results.canary_state:
        lines.append(f"canaries: {results.canaries_kept} planted for the next run, not cleaned up; ids kept in {results.canary_state}")
    if results.hygiene.errors:
        lines.append(f"cleanup: {len(results.hygiene.errors)} deletions got no answer; first: {results.hygiene.errors[0]}")
    if results.hint:
        lines.append(results.hint)
    if results.stopped:
        # (a gateway's throttling leaves checks unchecked without stopping the run)
        lines.append(f"{'run incomplete' if results.stopped.startswith('throttled') else 'run stopped early'}: {results.stopped}")
    return [printable(line, keep_newlines=False) for line in lines]


def render_table(results: RunResults) -> str:
    """The terminal summary: one row per property, then each failure with its reproduction."""
    rows = ordered(results)
    width = max((len(r.property_id) for r in rows), default=10)
    out = [f"{'property'.ljust(width)}  result", f"{'-' * width}  ------"]
    out += [f"{r.property_id.ljust(width)}  {_status_label(r)}" for r in rows]
    for r in rows:
        if r.status in (FAIL, KNOWN):
            out.append("")
            tag = "FAILED" if r.status == FAIL else "KNOWN"
            out.append(f"{tag} {r.property_id}: {PROPERTIES[r.property_id]}")
            if r.status == KNOWN:
                out.append(f"  known deviation: {r.known_reason}")
            out.append("  " + r.explanation.replace("\n", "\n  "))
            if r.reproduction:
                out.append(f"  reproduce: {r.reproduction}")
            if r.script:
                out.append("  replay script:")
                out += [f"    {line}" for line in r.script.rstrip("\n").splitlines()]
    out.append("")
    out += summary_lines(results)
    out.append(results.verdict())
    return printable("\n".join(out))


def render_markdown(results: RunResults) -> str:
    """The Markdown report (for $GITHUB_STEP_SUMMARY or a PR comment)."""
    verdict = "conformant" if results.conformant else "NOT conformant"
    out = [f"## Session API contract: {verdict}", "", f"**{results.verdict()}**", ""]
    out += [f"- {line}" for line in summary_lines(results)]
    out += ["", "| property | result | statement |", "|---|---|---|"]
    for r in ordered(results):
        out.append(f"| `{r.property_id}` | {_status_label(r)} | {PROPERTIES[r.property_id]} |")
    failures = [r for r in ordered(results) if r.status in (FAIL, KNOWN)]
    if failures:
        out += ["", "### Violations", ""]
        for r in failures:
            label = "known deviation" if r.status == KNOWN else "failed"
            out += [f"#### `{r.property_id}` ({label})", "", r.explanation.replace("\n", "  \n"), ""]
            if r.known_reason:
                out += [f"Known because: {r.known_reason}", ""]
            if r.reproduction:
                out += ["```sh", r.reproduction, "```", ""]
            if r.script:
                out += ["Replay script:", "", "```bash", r.script.rstrip("\n"), "```", ""]
    return printable("\n".join(out) + "\n")


def render_junit(results: RunResults) -> str:
    """JUnit XML with one testcase per property, named by its id."""
    rows = ordered(results)
    hygiene = results.hygiene

    def clean(text: str) -> str:
        return printable(text)

    suite = ET.Element(
        "testsuite",
        name="session-contract",
        tests=str(len(rows) + 1),
        failures=str(sum(r.status == FAIL for r in rows) + bool(hygiene.left_behind)),
        errors=str(sum(r.status == INCONCLUSIVE for r in rows)),
        skipped=str(sum(r.status in (KNOWN, NOT_CHECKED) for r in rows)),
        time=f"{results.elapsed:.3f}",
    )
    properties = ET.SubElement(suite, "properties")
    ET.SubElement(properties, "property", name="target", value=clean(results.target))
    ET.SubElement(properties, "property", name="seed", value=str(results.seed))
    ET.SubElement(properties, "property", name="requests", value=str(results.requests))
    throttling = results.throttling
    ET.SubElement(properties, "property", name="throttled", value=str(throttling.throttled if throttling else 0))
    ET.SubElement(properties, "property", name="throttled-wait-seconds", value=f"{throttling.waited if throttling else 0.0:.1f}")
    for r in rows:
        case = ET.SubElement(suite, "testcase", classname="session-contract", name=r.property_id, time=f"{r.duration:.3f}")
        text = clean(f"{r.explanation}\nreproduce: {r.reproduction}" if r.reproduction else r.explanation)
        if r.script:
            text += "\nreplay script:\n" + clean(r.script)
        if r.status == FAIL:
            ET.SubElement(case, "failure", message=clean(r.explanation.splitlines()[0] if r.explanation else "failed")).text = text
        elif r.status == KNOWN:
            ET.SubElement(case, "skipped", message=clean(f"known deviation: {r.known_reason}")).text = text
        elif r.status == NOT_CHECKED:
            ET.SubElement(case, "skipped", message=clean(r.skip_reason or "not checked"))
        elif r.status == INCONCLUSIVE:
            ET.SubElement(case, "error", type="inconclusive", message=clean(f"inconclusive: {r.measured_text()}")).text = text
        elif r.measurements:
            ET.SubElement(case, "system-out").text = clean(r.measured_text())
        elif r.trim:
            ET.SubElement(case, "system-out").text = "known deviation no longer seen: trim it from the deviations file"
        elif r.note:
            ET.SubElement(case, "system-out").text = clean(r.note)
        ET.SubElement(case, "properties").append(ET.Element("property", name="requests", value=str(r.requests)))
    case = ET.SubElement(suite, "testcase", classname="session-contract", name=HYGIENE_CASE, time="0.000")
    summary = clean(f"cleanup: {hygiene.summary()}; {hygiene.deleted} deleted by cleanup")
    if hygiene.left_behind:
        ET.SubElement(case, "failure", message=summary).text = clean("left behind:\n" + "\n".join(hygiene.left_behind))
    else:
        ET.SubElement(case, "system-out").text = summary
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


REPORT_SCHEMA_VERSION = 1
"""The version of `render_json`'s format. Fields are only ever added within a version; a reader
ignores fields it does not know. Renaming or removing a field makes a new version."""


def render_json(results: RunResults, *, tool_version: str, options: dict[str, Any]) -> str:
    """The JSON report (`--report-json`): everything the other formats show, for tools and the docs site.

    Shape (version 1): `schemaVersion`, `tool` {name, version}, `deployment` {label, target},
    `startedAt`/`finishedAt` (ISO 8601, UTC), `elapsedSeconds`, `seed`, `options` (as given, header
    values redacted), `verdict` {conformant, text, stopped}, `requests` {total, shared},
    `readYourWrites` {kind: {checked, missed, summary}}, `throttling` {throttled (answers of a
    throttling gateway waited out and sent again), waitedSeconds, rateLimit (requests per second the run
    ended at; 0: none), gaveUp: [reasons]}, `cleanup` {created, deleted, leftBehind: [ids],
    errors}, `hint`, and `properties`: a list, in the contract's order, of {id, statement, outcome
    ("pass", "fail", "known", "not checked", "inconclusive"), explanation, reproduction, knownReason,
    skipReason, note (what a passing check covered), trim, durationSeconds, requests, measurements, script};
    `canaries` {planted, state}. `script` (added in version 1; "" when there is none) is a bash script
    replaying a failure: its session's requests from its creation, or a measured pair repeated and
    counted. `measurements` (added in version 1; empty for a property that is not measured) lists each
    measured shape as {shape, k, n, rate, low95, high95 (the 95 % interval; for k = 0 the exact upper
    bound), needed (the sample size --min-detectable-rate asks for), window (null, or {medianMs, p95Ms,
    maxMs} of the lags seen), text}."""

    def clean(text: str) -> str:
        return printable(text)

    writes: dict[str, Any] = {}
    if results.writes is not None:
        for kind, ledger in results.writes.kinds.items():
            writes[kind] = {"checked": ledger.checked, "missed": len(ledger.misses), "summary": clean(ledger.summary())}
    document = {
        "schemaVersion": REPORT_SCHEMA_VERSION,
        "tool": {"name": "session-contract", "version": tool_version},
        "deployment": {"label": clean(results.label or results.target), "target": clean(results.target)},
        "startedAt": results.started_at.isoformat() if results.started_at else None,
        "finishedAt": results.finished_at.isoformat() if results.finished_at else None,
        "elapsedSeconds": round(results.elapsed, 3),
        "seed": results.seed,
        "options": options,
        "verdict": {"conformant": results.conformant, "text": clean(results.verdict()), "stopped": clean(results.stopped)},
        "requests": {"total": results.requests, "shared": results.shared_requests},
        "readYourWrites": writes,
        "throttling": {
            "throttled": results.throttling.throttled if results.throttling else 0,
            "waitedSeconds": round(results.throttling.waited, 3) if results.throttling else 0.0,
            "rateLimit": round(results.rate_limit, 3),
            "gaveUp": [clean(reason) for reason in results.throttling.gave_up] if results.throttling else [],
        },
        "canaries": {"planted": results.canaries_kept, "state": results.canary_state or None},
        "cleanup": {
            "created": results.hygiene.created,
            "deleted": results.hygiene.deleted,
            "leftBehind": list(results.hygiene.left_behind),
            "errors": [clean(e) for e in results.hygiene.errors],
        },
        "hint": clean(results.hint),
        "properties": [
            {
                "id": r.property_id,
                "statement": PROPERTIES[r.property_id],
                "outcome": r.status,
                "explanation": clean(r.explanation),
                "reproduction": clean(r.reproduction),
                "knownReason": clean(r.known_reason),
                "skipReason": clean(r.skip_reason),
                "note": clean(r.note),
                "trim": r.trim,
                "durationSeconds": round(r.duration, 3),
                "requests": r.requests,
                "measurements": [m.as_json() for m in r.measurements],
                "script": clean(r.script),
            }
            for r in ordered(results)
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
