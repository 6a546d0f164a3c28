"""The suite's options, declared once for `session-contract run` and for the pytest plugin.

`session-contract run` offers each option under its plain name (`--base-url`); the pytest plugin
offers the same option under a namespaced name (`--contract-base-url`) so that it can never collide
with another plugin's options (pytest-base-url owns `--base-url`). Both take their type, default
and help from `OPTIONS`; `pytest_args` turns parsed CLI values into the plugin's command line.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

PLUGIN_PREFIX = "contract-"


@dataclass(frozen=True)
class Option:
    """One option: `name` is the CLI flag without dashes; the plugin's flag is `--contract-<name>`."""

    name: str
    help: str
    type: type[Any] = str
    default: Any = None
    metavar: str | None = None
    repeatable: bool = False

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

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `argparse.add_argument` and pytest's `addoption` alike."""
        if self.repeatable:
            return {"dest": self.dest, "action": "append", "default": [], "metavar": self.metavar, "help": self.help}
        return {"dest": self.dest, "type": self.type, "default": self.default, "metavar": self.metavar, "help": self.help}


OPTIONS: tuple[Option, ...] = (
    Option("base-url", "deployment to check (default: the reference implementation served on loopback)", metavar="URL"),
    Option("header", "header sent with every request (repeatable); values never appear in any output",
           metavar="'Name: value'", repeatable=True),
    Option("junit-xml", "write JUnit XML, one testcase per property id", metavar="PATH"),
    Option("report-md", "write the Markdown report", metavar="PATH"),
    Option("known-deviations", "deviations file (YAML: property or difference id -> reason); "
           "listed failures are reported as known", metavar="FILE"),
    Option("max-examples", "examples per generated check (default: %(default)s)", int, 25, "N"),
    Option("seed", "seed for the generated checks, to repeat a run", int, None, "N"),
    Option("persistence-window", "seconds canary sessions must survive (default: %(default)s)", float, 5.0, "S"),
    Option("volume", "sessions created by the persistence-under-volume check (default: %(default)s)", int, 2000, "N"),
    Option("concurrency", "parallel requests in the concurrency checks (default: %(default)s, at least 20)", int, 24, "N"),
    Option("max-rps", "at most N requests per second (default: 0, no limit)", float, 0.0, "N"),
    Option("time-budget", "start no check after S seconds, interrupt 10 s later (default: 0, no budget)", float, 0.0, "S"),
    Option("property", "check only the properties whose id matches (repeatable, e.g. 'persistence.*')",
           metavar="GLOB", repeatable=True),
    Option("skip-property", "do not check the properties whose id matches (repeatable)", metavar="GLOB", repeatable=True),
    Option("race-rounds", "rounds of each race check (double DELETE, create-with-id on one id; default: %(default)s)", int, 10, "N"),
    Option("request-timeout", "seconds to wait for one answer before the check that sent it fails (default: %(default)s)", float, 15.0, "S"),
    Option("request-log", "write every request sent, one a line: the property it was for ('(shared)': canaries, cleanup), method, path",
           metavar="PATH"),
)
"""Every option of a conformance run, in the order `--help` lists them."""


def add_cli_options(parser: argparse.ArgumentParser) -> None:
    """Add every option to `session-contract run` under its plain name."""
    for option in OPTIONS:
        parser.add_argument(option.cli_flag, **option.kwargs())


def add_plugin_options(group: Any) -> None:
    """Add every option to a pytest option group under its namespaced name (`--contract-...`)."""
    for option in OPTIONS:
        kwargs = option.kwargs()
        # pytest renders help with `%` formatting of its own: spell the default out.
        kwargs["help"] = option.help.replace("%(default)s", str(option.default))
        group.addoption(option.plugin_flag, **kwargs)


def pytest_args(ns: argparse.Namespace) -> list[str]:
    """The plugin's options for the values parsed by `add_cli_options` (defaults left out)."""
    args: list[str] = []
    for option in OPTIONS:
        value = getattr(ns, option.dest)
        if option.repeatable:
            for item in value:
                args += [option.plugin_flag, str(item)]
        elif value is not None and value != option.default:
            args += [option.plugin_flag, str(value)]
    return args
