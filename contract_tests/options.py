"""The suite's options: declared once, parsed once into one validated `RunOptions`.

`session-contract run` offers each option under its plain name (`--base-url`); the pytest plugin
offers the same option under a namespaced name (`--contract-base-url`) so that it can never collide
with another plugin's (pytest-base-url owns `--base-url`). Both take type, default, range and help
from `OPTIONS`, and both turn what was parsed into a `RunOptions` with `build_options`, which is the
one place an option is checked: a bad value is a `UsageError` naming the option and its range
(never echoing a `--header` value), raised before anything is sent.
"""

from __future__ import annotations

import argparse
import difflib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from contract_tests.deviations import glob_matches
from contract_tests.redaction import parse_header, with_credentials
from session_spec.credentials import without_credentials
from session_spec.tls import Tls, TlsError

PLUGIN_PREFIX = "contract-"


class UsageError(ValueError):
    """An option is missing, malformed or out of range; the message is one line for the user."""


@dataclass(frozen=True)
class Option:
    """One option: `name` is the CLI flag without dashes; the plugin's flag is `--contract-<name>`.

    `minimum`/`maximum` bound a number (inclusive); `zero_means` names what 0 does when 0 is
    allowed below `minimum` ("no limit", "no budget")."""

    name: str
    help: str
    type: type[Any] = str
    default: Any = None
    metavar: str | None = None
    repeatable: bool = False
    minimum: float | None = None
    maximum: float | None = None
    zero_means: str | None = None

    @property
    def dest(self) -> str:
        """The attribute name, the same in argparse's namespace and pytest's `config.getoption`."""
        return "contract_" + self.name.replace("-", "_")

    @property
    def cli_flag(self) -> str:
        return f"--{self.name}"

    @property
    def plugin_flag(self) -> str:
        return f"--{PLUGIN_PREFIX}{self.name}"

    def range_text(self) -> str:
        """`1 to 1000`, `at least 20`, `0 (no limit) or at least 0.1`, or "" for non-numbers."""
        if self.type not in (int, float) or (self.minimum is None and self.maximum is None):
            return ""
        low = _number(self.minimum) if self.minimum is not None else None
        text = f"{low} to {_number(self.maximum)}" if low is not None and self.maximum is not None else f"at least {low}"
        return f"0 ({self.zero_means}) or {text}" if self.zero_means else text

    def full_help(self) -> str:
        extra = [part for part in (self.range_text(), "default: %(default)s" if self.default is not None else "") if part]
        return f"{self.help} ({'; '.join(extra)})" if extra else self.help

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `argparse.add_argument` and pytest's `addoption` alike. Values are
        parsed as strings and converted by `build_options`, so every error reads the same."""
        if self.repeatable:
            return {"dest": self.dest, "action": "append", "default": [], "metavar": self.metavar, "help": self.full_help()}
        return {"dest": self.dest, "default": self.default, "metavar": self.metavar, "help": self.full_help()}

    def convert(self, raw: Any) -> Any:
        """The value of this option for `raw` (a string from a command line, or already typed)."""
        if raw is None or self.type is str:
            return raw
        try:
            value = self.type(raw)
        except (TypeError, ValueError):
            kind = "an integer" if self.type is int else "a number"
            raise UsageError(f"{self.cli_flag} expects {kind}, got {str(raw)!r}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise UsageError(f"{self.cli_flag} expects a finite number, got {str(raw)!r}")
        if self.zero_means and value == 0:
            return value
        too_low = self.minimum is not None and value < self.minimum
        too_high = self.maximum is not None and value > self.maximum
        if too_low or too_high:
            raise UsageError(f"{self.cli_flag} must be {self.range_text()}, got {raw}")
        return value


def _number(value: float | None) -> str:
    """`20`, `0.1`, `604800`: never `1e+06`."""
    assert value is not None
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


OPTIONS: tuple[Option, ...] = (
    Option("base-url", "deployment to check: http(s)://host[:port][/prefix], the service root without /api/v1 "
           "(default: the reference implementation served on loopback)", metavar="URL"),
    Option("cacert", "CA bundle (PEM) to trust for an https target, e.g. an internal CA "
           "(default: $SSL_CERT_FILE, then $REQUESTS_CA_BUNDLE, then certifi's)", metavar="FILE"),
    Option("cert", "client certificate (PEM) for targets that require mutual TLS; the key too, unless --key", metavar="FILE"),
    Option("key", "private key (PEM) of --cert", metavar="FILE"),
    Option("label", "the deployment's name in reports (default: the base URL without credentials)", metavar="NAME"),
    Option("header", "header sent with every request (repeatable); values never appear in any output",
           metavar="'Name: value'", repeatable=True),
    Option("junit-xml", "write JUnit XML, one testcase per property id", metavar="PATH"),
    Option("report-md", "write the Markdown report", metavar="PATH"),
    Option("report-json", "write the JSON report (versioned format, described in docs/ci.md)", metavar="PATH"),
    Option("known-deviations", "deviations file (YAML: property or difference id -> reason); "
           "listed failures are reported as known", metavar="FILE"),
    Option("max-examples", "examples per generated check", int, 25, "N", minimum=1, maximum=100_000),
    Option("seed", "seed for the generated checks, to repeat a run (default: random)", int, None, "N", minimum=0, maximum=2**63 - 1),
    Option("persistence-window", "seconds canary sessions must survive", float, 5.0, "S", minimum=0, maximum=86_400),
    Option("canary-state", "check the canaries an earlier run planted (ids, data and times kept in FILE), then plant "
           "the next ones there: persistence over hours and redeploys, not seconds", metavar="FILE"),
    Option("volume", "sessions created by the persistence-under-volume check", int, 2000, "N", minimum=1, maximum=1_000_000),
    Option("concurrency", "parallel requests in the concurrency checks", int, 24, "N", minimum=20, maximum=1000),
    Option("max-rps", "at most N requests per second", float, 0.0, "N", minimum=0.1, zero_means="no limit"),
    Option("time-budget", "start no check after S seconds, abandon running ones 10 s later", float, 0.0, "S",
           minimum=1, zero_means="no budget"),
    Option("cleanup-timeout", "seconds the deletion of what the run created may take at the end", float, 30.0, "S",
           minimum=1, maximum=3600),
    Option("property", "check only the properties whose id matches (repeatable, e.g. 'persistence.*')",
           metavar="GLOB", repeatable=True),
    Option("skip-property", "do not check the properties whose id matches (repeatable)", metavar="GLOB", repeatable=True),
    Option("race-rounds", "no longer used: the races are measured to the sample size --min-detectable-rate sets "
           "(kept so existing command lines still parse)", int, 10, "N", minimum=1, maximum=10_000),
    Option("min-detectable-rate", "the smallest fault rate a pass of a measured property (read-your-writes, races) rules out "
           "at 95 %% confidence; sets the sample size (0.01: 299 tries per measurement)", float, 0.01, "R",
           minimum=0.0005, maximum=0.5),
    Option("request-timeout", "seconds one whole answer may take (connect, headers and body) before the check that sent it fails",
           float, 15.0, "S", minimum=0.1, maximum=3600),
    Option("request-log", "write every request sent, one a line: the property it was for ('(shared)': canaries, cleanup), method, path",
           metavar="PATH"),
)
"""Every option of a conformance run, in the order `--help` lists them."""

OPTION_BY_NAME = {option.name: option for option in OPTIONS}
SUPPORTED_SCHEMES = ("http", "https")


@dataclass(frozen=True)
class RunOptions:
    """What the user asked for, validated once. Numbers are in seconds, counts or requests per second;
    0 for `max_rps`/`time_budget` means no limit/no budget; `base_url` None means the reference."""

    base_url: str | None = None
    cacert: str | None = None
    cert: str | None = None
    key: str | None = None
    tls: Tls = field(default_factory=Tls.from_options)  # what --cacert/--cert/--key and the environment say
    label: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    known_deviations: Mapping[str, str] = field(default_factory=dict)
    max_examples: int = 25
    seed: int = 0
    persistence_window: float = 5.0
    canary_state: str | None = None  # --canary-state: canaries checked from and planted into this file
    volume: int = 2000
    concurrency: int = 24
    max_rps: float = 0.0
    time_budget: float = 0.0
    cleanup_timeout: float = 30.0
    race_rounds: int = 10
    min_detectable_rate: float = 0.01
    request_timeout: float = 15.0
    select: tuple[str, ...] = ()  # --property globs (empty: every property)
    skip: tuple[str, ...] = ()  # --skip-property globs
    junit_xml: str | None = None
    report_md: str | None = None
    report_json: str | None = None
    request_log: str | None = None

    @property
    def deployment_target(self) -> str:
        """The base URL without credentials (or the reference's description): what the run checks."""
        if self.base_url is None:
            return "reference implementation (loopback)"
        return without_credentials(self.base_url)

    @property
    def deployment_label(self) -> str:
        """`--label`, or the base URL without credentials (or the reference's description)."""
        return self.label or self.deployment_target


def check_base_url(raw: str) -> str:
    """The base URL without a trailing slash, or a UsageError: empty, no scheme, another scheme, no host, a
    query or a fragment."""
    text = raw.strip()
    if not text:
        raise UsageError("--base-url is empty (an unset CI variable?); give http(s)://host[:port], or leave the option out "
                         "to check the reference implementation")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:  # (the library's message may quote a password)
        raise UsageError(f"--base-url is not a valid URL: {without_credentials(text)!r}") from None
    if not parts.scheme or "://" not in text:
        shown = text.rsplit("@", 1)[-1]  # without a scheme, `user:password@` is not userinfo to urlsplit
        raise UsageError(f"--base-url needs a scheme: http://{shown} or https://{shown}")
    if parts.scheme.lower() not in SUPPORTED_SCHEMES:
        raise UsageError(f"--base-url scheme {parts.scheme!r} is not supported; use http or https")
    if not parts.hostname:
        raise UsageError(f"--base-url has no host: {without_credentials(text)!r}")
    if parts.query or parts.fragment or text.endswith(("?", "#")):  # every path is appended to it: a query would end up inside them
        raise UsageError(f"--base-url takes no query or fragment (the service root: http(s)://host[:port][/prefix]): "
                         f"{without_credentials(text)!r}")
    return text.rstrip("/")


def build_options(values: Mapping[str, Any], known_ids: Callable[[], list[str]] | None = None) -> RunOptions:
    """One validated `RunOptions` from parsed values keyed by `Option.dest` (argparse's namespace or
    pytest's options, as a mapping). `known_ids()` gives the property ids `--property` globs must match.

    Raises UsageError (one line, no header value) for anything wrong."""
    from contract_tests.deviations import DeviationsError, load_deviations

    def get(name: str) -> Any:
        option = OPTION_BY_NAME[name]
        return option.convert(values.get(option.dest, option.default))

    base_url = values.get(OPTION_BY_NAME["base-url"].dest)
    base_url = None if base_url is None else check_base_url(str(base_url))
    try:
        headers = dict(parse_header(raw) for raw in values.get(OPTION_BY_NAME["header"].dest) or [])
        if base_url is not None:  # credentials in the URL become the Basic header httpx would send
            base_url, headers = with_credentials(base_url, headers, "--base-url")
        deviations = load_deviations(values.get(OPTION_BY_NAME["known-deviations"].dest))
    except (ValueError, DeviationsError) as exc:
        raise UsageError(str(exc)) from None
    try:
        tls = Tls.from_options(get("cacert"), get("cert"), get("key"))
    except TlsError as exc:
        raise UsageError(str(exc)) from None
    select = tuple(values.get(OPTION_BY_NAME["property"].dest) or [])
    skip = tuple(values.get(OPTION_BY_NAME["skip-property"].dest) or [])
    if known_ids is not None:
        ids = known_ids()
        for glob in (*select, *skip):
            if not any(glob_matches(glob, pid) for pid in ids):
                groups = sorted({pid.split(".")[0] + ".*" for pid in ids})
                close = difflib.get_close_matches(glob, [*groups, *ids] if "*" in glob else list(ids), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise UsageError(f"no property id matches {glob!r}{hint}; only * is a wildcard")
    seed = get("seed")
    if seed is None:
        import random

        seed = random.SystemRandom().randrange(1, 2**31)
    return RunOptions(
        base_url=base_url,
        cacert=get("cacert"),
        cert=get("cert"),
        key=get("key"),
        tls=tls,
        label=get("label"),
        headers=headers,
        known_deviations=deviations,
        max_examples=get("max-examples"),
        seed=seed,
        persistence_window=get("persistence-window"),
        canary_state=get("canary-state"),
        volume=get("volume"),
        concurrency=get("concurrency"),
        max_rps=get("max-rps"),
        time_budget=get("time-budget"),
        cleanup_timeout=get("cleanup-timeout"),
        race_rounds=get("race-rounds"),
        min_detectable_rate=get("min-detectable-rate"),
        request_timeout=get("request-timeout"),
        select=select,
        skip=skip,
        junit_xml=get("junit-xml"),
        report_md=get("report-md"),
        report_json=get("report-json"),
        request_log=get("request-log"),
    )


def add_cli_options(parser: argparse.ArgumentParser) -> None:
    """Add every option to `session-contract run` under its plain name."""
    for option in OPTIONS:
        parser.add_argument(option.cli_flag, **option.kwargs())


def add_plugin_options(group: Any) -> None:
    """Add every option to a pytest option group under its namespaced name (`--contract-...`)."""
    for option in OPTIONS:
        kwargs = option.kwargs()
        # pytest renders help with `%` formatting of its own: spell the default out.
        kwargs["help"] = kwargs["help"].replace("%(default)s", str(option.default))
        group.addoption(option.plugin_flag, **kwargs)
