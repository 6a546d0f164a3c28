"""`build_site`: the static documentation site, self-contained (no network, works from file://).

Pages (every one with the same navigation; links are relative):
- index.html, the front page: where to find things (the CI recipe, the mock's options, what a property means),
  every guide with its sections, the reference, the API, the verification results;
- one page per Markdown guide of the guides folder (`docs/`: ci.md -> ci.html, reference/session-mock.md ->
  reference/session-mock.html);
- contract.html (every operation, status, meaning and example, and the properties the suite checks) and
  swagger.html (Swagger UI over the embedded spec; it was index.html before, whose `#/...` deep links still
  lead there); the spec as openapi.yaml and openapi.json;
- results.html, the matrix of deployments and properties from `session-contract run --report-json` reports,
  and results/<deployment>.html per deployment (findings, rates, plots, history);
- site.css, the one stylesheet; swagger-ui/, Swagger UI's own files; repository/, copies of the files of the
  repository (beside docs/) that the guides link to, such as deviations/production.yaml.

Every input is read and checked before anything is written, and every fault is a `SiteError` with a
one-line message. A build replaces the files an earlier build wrote (listed in `.session-docs-site`) and
removes those it no longer writes; it refuses a folder that holds anything else.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from markupsafe import Markup
from swagger_ui_bundle import swagger_ui_path

from contract_tests.properties import PROPERTIES
from contract_tests.report import FAIL, INCONCLUSIVE, KNOWN, NOT_CHECKED, PASS
from session_docs import svg
from session_docs.guides import GUIDES_PATH, OUTSIDE_DIR, GuideError, GuideSet, read_guides
from session_docs.render import NavGroup, NavLink, Pages
from session_docs.results import (
    NOT_RUN,
    OUTCOMES,
    Deployment,
    ReportError,
    group,
    load_reports,
    property_rows,
)
from session_spec import DEFAULT_SPEC_PATH

SWAGGER_UI_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-16x16.png", "favicon-32x32.png")
SITE_FILES = ("index.html", "swagger.html", "contract.html", "results.html", "site.css", "openapi.yaml", "openapi.json",
              *(f"swagger-ui/{name}" for name in SWAGGER_UI_FILES))
"""The pages and files every build writes (guides and results pages come on top)."""
MANIFEST = ".session-docs-site"
RESERVED = {"index.html", "swagger.html", "contract.html", "results.html", "site.css", "openapi.yaml", "openapi.json"}
RESERVED_DIRS = ("results/", "swagger-ui/", f"{OUTSIDE_DIR}/")
CSS = Path(__file__).resolve().parent / "templates" / "site.css"


class SiteError(Exception):
    """A mistake in what the build was given (or where it writes): the message is one line."""


@dataclass
class Inputs:
    """Everything a build reads, checked."""

    spec_path: Path
    spec_source: str
    spec: dict[str, Any]
    guides: GuideSet
    deployments: list[Deployment] = field(default_factory=list)


# --- reading -----------------------------------------------------------------------------------------------


def read_text(path: Path, where: str, what: str) -> str:
    """The UTF-8 text of `path`; a SiteError starting with `where` for a file that is missing, a folder
    (not `what`), not UTF-8 or unreadable."""
    try:
        return Path(path).read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise SiteError(f"{where}: no such file") from None
    except IsADirectoryError:
        raise SiteError(f"{where}: is a folder, not {what}") from None
    except UnicodeDecodeError as exc:
        raise SiteError(f"{where}: not UTF-8 text (offset {exc.start})") from None
    except OSError as exc:
        raise SiteError(f"{where}: cannot read it: {exc.strerror or exc}") from None


def read_spec(path: Path) -> tuple[str, dict[str, Any]]:
    """The spec's text and data; SiteError for a file that is missing, unreadable, not YAML or not OpenAPI."""
    where = f"--spec {path}"
    source = read_text(path, where, "an OpenAPI document")
    try:
        spec = yaml.safe_load(source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise SiteError(f"{where}: not valid YAML: {problem}{at}") from None
    if not isinstance(spec, dict):
        raise SiteError(f"{where}: not an OpenAPI document (its top level is {type(spec).__name__}, not a mapping)")
    from openapi_spec_validator import validate

    try:
        validate(spec)
    except Exception as exc:  # the validator raises jsonschema's and referencing's errors alike: each means "not valid"
        message = getattr(exc, "message", None) or str(exc).splitlines()[0]
        path_of = "/".join(str(p) for p in getattr(exc, "absolute_path", None) or getattr(exc, "path", None) or [])
        text = " ".join(str(message).split())
        text = text if len(text) <= 200 else text[:199] + "…"
        raise SiteError(f"{where}: not a valid OpenAPI document: {text}{f' (at {path_of})' if path_of else ''}") from None
    return source, spec


def read_docs(folder: Path | None, *, explicit: bool) -> GuideSet:
    """The guides of `folder` (None or a missing default folder: no guides)."""
    if folder is None:
        return GuideSet(None)
    if not folder.is_dir():
        if explicit:
            raise SiteError(f"--docs {folder}: {'is a file, not a folder' if folder.exists() else 'no such folder'}")
        return GuideSet(None, notes=[f"no guides at {folder}: the site has none (--docs DIR names a folder of Markdown guides)"])
    try:
        guides = read_guides(folder)
    except GuideError as exc:
        raise SiteError(str(exc)) from None
    except OSError as exc:
        raise SiteError(f"--docs {folder}: cannot read it: {exc.strerror or exc}") from None
    if explicit and not guides.guides:
        raise SiteError(f"--docs {folder}: holds no Markdown guides (*.md)")
    for guide in guides.guides:
        if guide.page in RESERVED or guide.page.startswith(RESERVED_DIRS):
            raise SiteError(f"{folder / guide.source}: its page {guide.page} is one the site writes itself; rename the guide")
    return guides


def read_inputs(spec_path: Path = DEFAULT_SPEC_PATH, docs: Path | None = GUIDES_PATH, results: Sequence[Path] = (),
                *, docs_explicit: bool = False) -> Inputs:
    source, spec = read_spec(spec_path)
    guides = read_docs(docs, explicit=docs_explicit)
    try:
        deployments = group(load_reports(results))
    except ReportError as exc:
        raise SiteError(f"--results {exc}") from None
    return Inputs(spec_path, source, spec, guides, deployments)


# --- the navigation and the front page's short cuts ------------------------------------------------------------


@dataclass(frozen=True)
class QuickLink:
    label: str
    page: str
    what: str


def navigation(guides: GuideSet) -> tuple[NavGroup, ...]:
    groups = []
    if guides.main:
        groups.append(NavGroup("Guides", tuple(NavLink(g.label, g.page) for g in guides.main)))
    if guides.reference:
        groups.append(NavGroup("Reference", tuple(NavLink(g.label, g.page) for g in guides.reference)))
    groups.append(NavGroup("API", (NavLink("Contract", "contract.html"), NavLink("Swagger UI", "swagger.html"))))
    groups.append(NavGroup("", (NavLink("Results", "results.html"),)))
    return tuple(groups)


def property_meaning(pid: str) -> str:
    """Where a property's meaning is: its row on the contract page (the registry's statement); "" for an id
    this toolkit does not know (a report of a newer version), which then gets no link."""
    return f"contract.html#property-{pid}" if pid in PROPERTIES else ""


def quick_links(guides: GuideSet, deployments: list[Deployment]) -> list[QuickLink]:
    """The front page's first list: what users look for most, one click each."""
    links: list[QuickLink] = []
    ci = guides.find("ci.md")
    if ci is not None:
        for words in ("GitHub Actions", "GitLab CI"):
            heading = ci.find_heading(words)
            page = f"{ci.page}#{heading.anchor}" if heading else ci.page
            links.append(QuickLink(f"CI recipe: {words}", page, "run the conformance suite in a pipeline, with reports as artifacts"))
    mock_reference = guides.find("reference/session-mock.md")
    if mock_reference is not None:
        links.append(QuickLink("session-mock options", mock_reference.page, "every option of the mock server, with its default"))
    elif guides.find("mock.md") is not None:
        links.append(QuickLink("The mock server", "mock.html", "session-mock for frontend development"))
    properties = guides.find("reference/properties.md")
    links.append(QuickLink("What each property means", properties.page if properties else "contract.html#properties",
                           "the properties the conformance suite checks, id by id"))
    for source, label, what in (("reference/session-contract.md", "session-contract options", "every option of the conformance suite"),
                                ("reference/session-docs.md", "session-docs options", "building this site")):
        guide = guides.find(source)
        if guide is not None:
            links.append(QuickLink(label, guide.page, what))
    links.append(QuickLink("Swagger UI", "swagger.html", "try the operations against a server"))
    links.append(QuickLink("Verification results", "results.html",
                           f"{len(deployments)} deployment{'s' if len(deployments) != 1 else ''} in this build" if deployments else "what deployments do"))
    return links


# --- the results pages ---------------------------------------------------------------------------------------------

AGE_UNITS = (("s", 1, 120), ("min", 60, 2 * 3600), ("h", 3600, 72 * 3600), ("d", 86400, float("inf")))
SYMBOLS = {PASS: "✓", FAIL: "✗", KNOWN: "≈", NOT_CHECKED: "–", INCONCLUSIVE: "?", NOT_RUN: "·"}


def outcome_css(outcome: str) -> str:
    return outcome.replace(" ", "-")


def deployment_plots(deployment: Deployment) -> dict[str, list[Markup]]:
    """The SVG plots of a deployment's page: rates and windows of its newest run, throttling and canaries over its runs."""
    run = deployment.newest
    plots: dict[str, list[Markup]] = {"rates": [], "windows": [], "throttling": [], "canaries": []}
    consistency: list[svg.IntervalRow] = []
    races: list[svg.IntervalRow] = []
    windows: list[svg.WindowRow] = []
    for pid, outcome in run.outcomes.items():
        for m in outcome.measurements:
            row = svg.IntervalRow(f"{m.shape}" if pid.startswith("consistency.") else f"{pid.split('.', 1)[-1]}: {m.shape}",
                                  m.rate, m.low95, m.high95, m.text, m.k > 0)
            (consistency if pid.startswith("consistency.") else races).append(row)
            if m.window is not None:
                windows.append(svg.WindowRow(m.shape, m.window.median_ms, m.window.p95_ms, m.window.max_ms))
    if consistency:
        plots["rates"].append(Markup(svg.interval_plot("Read-your-writes: writes not visible at once (rate, 95 % interval)", consistency)))
    if races:
        plots["rates"].append(Markup(svg.interval_plot("Races: samples that broke the rule (rate, 95 % interval)", races)))
    if windows:
        plots["windows"].append(Markup(svg.window_plot("Lag windows per write kind (median, p95, max)", windows)))
    runs = list(reversed(deployment.runs))  # oldest first, as a time line reads
    if any(r.throttled or r.gave_up for r in runs):
        rows = [svg.BarRow(r.when_text(), r.waited_seconds,
                           f"{r.throttled} throttled, {r.waited_seconds:.1f} s" + (f", gave up {len(r.gave_up)}x" if r.gave_up else ""),
                           "bar-bad" if r.gave_up else "bar") for r in runs]
        plots["throttling"].append(Markup(svg.bar_plot("Waiting for throttling gateways, run by run (seconds)", rows, " s")))
    aged = [(r, age) for r in runs if (age := r.canary_age()) is not None]
    if aged:
        oldest = max(age.age_seconds for _, age in aged)
        unit, seconds = next((u, s) for u, s, limit in AGE_UNITS if oldest < limit)
        rows = [svg.BarRow(r.when_text(), age.age_seconds / seconds, f"{age.count} planted {age.age_text} before: {age.verdict}",
                           "bar" if age.verdict == "all intact" else "bar-bad") for r, age in aged]
        plots["canaries"].append(Markup(svg.bar_plot(f"Age of the canaries each run checked ({unit})", rows, f" {unit}")))
    return plots


# --- writing ----------------------------------------------------------------------------------------------------------


def _previous_files(out_dir: Path) -> list[str] | None:
    """The files an earlier build listed in its manifest; None when there is no manifest."""
    manifest = out_dir / MANIFEST
    if not manifest.is_file():
        return None
    return [line for line in manifest.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]


def prepare(out_dir: Path, guides_folder: Path | None) -> list[str]:
    """Check that the site may be written to `out_dir`; the files of an earlier build there (to replace)."""
    where = f"cannot write the site to {out_dir}"
    if out_dir.exists() and not out_dir.is_dir():
        raise SiteError(f"{where}: it is a file, not a folder")
    if guides_folder is not None and guides_folder.is_dir():
        resolved, guides = out_dir.resolve(), guides_folder.resolve()
        if resolved == guides or resolved.is_relative_to(guides) or guides.is_relative_to(resolved):
            raise SiteError(f"{where}: it {'holds' if guides.is_relative_to(resolved) and resolved != guides else 'is inside'} "
                            f"the guides folder {guides_folder}; choose a folder of its own")
    if not out_dir.is_dir():
        return []
    try:
        previous = _previous_files(out_dir)
        present = [p.name for p in out_dir.iterdir()]
    except OSError as exc:
        raise SiteError(f"{where}: {exc.strerror or exc}") from None
    if previous is None:
        earlier_site = {"index.html", "contract.html"} <= set(present)  # built before builds kept a manifest
        if present and not earlier_site:
            raise SiteError(f"{where}: the folder holds other files ({', '.join(sorted(present)[:3])}{', ...' if len(present) > 3 else ''}); "
                            "choose a new or empty folder, or one session-docs built")
        return []
    return previous


def _remove_stale(out_dir: Path, previous: Iterable[str], written: set[str]) -> None:
    for name in previous:
        if name in written or name.startswith("/") or ".." in Path(name).parts:
            continue
        stale = out_dir / name
        if stale.is_file():
            stale.unlink()
            parent = stale.parent
            while parent != out_dir and parent.is_dir() and not any(parent.iterdir()):
                parent.rmdir()
                parent = parent.parent


def build_site(out_dir: Path, spec_path: Path = DEFAULT_SPEC_PATH, docs: Path | None = GUIDES_PATH,
               results: Sequence[Path] = (), *, docs_explicit: bool = False, note: Callable[[str], None] | None = None) -> list[Path]:
    """Write the site into `out_dir` (created if needed) and answer the files written.

    `docs` is the folder of Markdown guides (default: the packaged guides, the repository's docs/; None: no
    guides), `results` the JSON reports to show. Raises SiteError, with nothing written, for any input that
    cannot be used or an output folder that cannot be."""
    out_dir = Path(out_dir)
    inputs = read_inputs(spec_path, docs, results, docs_explicit=docs_explicit)
    for line in inputs.guides.notes:
        if note is not None:
            note(line)
    previous = prepare(out_dir, docs)
    try:
        written = _write(out_dir, inputs)
        names = {str(p.relative_to(out_dir).as_posix()) for p in written}
        _remove_stale(out_dir, previous, names)
        (out_dir / MANIFEST).write_text("# the files session-docs wrote here; the next build replaces them\n"
                                        + "".join(f"{name}\n" for name in sorted(names)), encoding="utf-8")
    except OSError as exc:
        place = f" ({exc.filename})" if exc.filename else ""
        raise SiteError(f"cannot write the site to {out_dir}: {exc.strerror or exc}{place}") from None
    return written


def _write(out_dir: Path, inputs: Inputs) -> list[Path]:
    spec, guides, deployments = inputs.spec, inputs.guides, inputs.deployments
    written: list[Path] = []

    def put(name: str, text: str) -> None:
        target = out_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(target)

    out_dir.mkdir(parents=True, exist_ok=True)
    assets = out_dir / "swagger-ui"
    assets.mkdir(exist_ok=True)
    for name in SWAGGER_UI_FILES:
        with (swagger_ui_path / name).open("rb") as packaged, (assets / name).open("wb") as copy:
            shutil.copyfileobj(packaged, copy)
        written.append(assets / name)
    put("site.css", CSS.read_text(encoding="utf-8"))
    put("openapi.yaml", inputs.spec_source)
    put("openapi.json", json.dumps(spec, indent=2, ensure_ascii=False) + "\n")
    info = spec.get("info")
    pages = Pages(str(info.get("title", "API")) if isinstance(info, dict) else "API", navigation(guides))
    try:
        put("contract.html", pages.contract(spec, PROPERTIES))
        put("swagger.html", pages.swagger_ui(spec))
    except (KeyError, TypeError, ValueError) as exc:
        raise SiteError(f"--spec {inputs.spec_path}: cannot render it: {exc}") from None
    put("index.html", pages.render("front.html", "index.html", spec=spec, guides=guides, quick=quick_links(guides, deployments),
                                   deployments=deployments))
    for guide in guides.guides:
        put(guide.page, pages.render("guide.html", guide.page, guide=guide))
    if guides.folder is not None:
        copies = {str(asset): guides.folder / str(asset) for asset in guides.assets}
        for name, source in {**copies, **guides.outside}.items():
            target = out_dir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            written.append(target)
    helpers = {"outcome_css": outcome_css, "outcome_symbol": SYMBOLS.get, "meaning": property_meaning, "not_run": NOT_RUN}
    put("results.html", pages.render("results.html", "results.html", deployments=deployments, rows=property_rows(deployments),
                                     legend=[*OUTCOMES, NOT_RUN], **helpers))
    for deployment in deployments:
        run = deployment.newest
        findings = [r for r in run.outcomes.values() if r.is_finding]
        measurements = [(pid, m) for pid, r in run.outcomes.items() for m in r.measurements]
        writes = [(w, *w.rate().interval()) for w in run.writes if w.checked]
        ages = [age for age in (r.canary_age() for r in deployment.runs) if age is not None]
        put(deployment.page, pages.render("deployment.html", deployment.page, d=deployment, findings=findings, measurements=measurements,
                                          writes=writes, ages=ages, plots=deployment_plots(deployment), **helpers))
    return written
