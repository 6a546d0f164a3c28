"""`session-docs`: build the documentation site; write or check the generated part of docs/ (every
command's options, every property, the tables inside the guides); print, write or check one table.

Exit codes: 0 done; 1 `--check` found a table out of date; 2 a mistake in what it was given (an unreadable
or invalid spec, guide or report, an output folder it cannot write, a README without markers), always as
one line on stderr starting `session-docs:`, never a traceback."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn

from session_docs.properties import PROPERTIES_BLOCK, properties_table
from session_docs.table import OPERATIONS_BLOCK, GeneratedBlock, MarkersMissing, operations_table
from session_spec import DEFAULT_SPEC_PATH, toolkit_version

EXIT_OK, EXIT_STALE, EXIT_USAGE = 0, 1, 2


class _ArgumentParser(argparse.ArgumentParser):
    """argparse whose usage errors are one line (exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"session-docs: error: {message} (see {self.prog} --help)\n")


class Failure(Exception):
    """A one-line error for stderr (exit 2)."""


def _parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(prog="session-docs", description="Documentation generated from openapi.yaml, the guides and run reports.",
                             epilog="exit codes: 0 done; 1 --check found a table out of date; 2 a usage error or unusable input (one line on stderr)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {toolkit_version()}")
    parser.add_argument("--spec", type=Path, default=DEFAULT_SPEC_PATH, help="the OpenAPI document (default: the packaged contract, the repository's openapi.yaml)")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser(
        "build", help="write the static site: front page, guides, contract page, Swagger UI, spec as YAML and JSON, verification results",
        description="Write the static site into SITE: it works from file:// with no network.")
    build.add_argument("out_dir", type=Path, metavar="SITE", help="folder to write the site into (created if missing; an earlier site there is replaced)")
    guides = build.add_mutually_exclusive_group()
    guides.add_argument("--docs", type=Path, metavar="DIR", default=None,
                        help="folder of Markdown guides to render, recursively (default: the guides shipped with the toolkit, the repository's docs/)")
    guides.add_argument("--no-docs", action="store_true", help="build without guides")
    build.add_argument("--results", type=Path, nargs="+", action="extend", default=[], metavar="RUN.json",
                       help="reports of `session-contract run --report-json` (several runs and deployments; repeatable): adds the results pages")
    reference = commands.add_parser(
        "reference", help="write or check the generated documentation under DIR: docs/reference/ (every option of every "
        "command, every property) and the generated tables inside the guides")
    action = reference.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", type=Path, metavar="DIR", help="write what is missing or out of date (DIR is usually docs/)")
    action.add_argument("--check", type=Path, metavar="DIR", help="exit 1 when a generated file under DIR is missing or out of date, naming it")
    for name, what in (("table", "operations table generated from the spec"),
                       ("properties", "table of contract properties generated from the suite's registry")):
        command = commands.add_parser(name, help=f"print the {what}")
        action = command.add_mutually_exclusive_group()
        action.add_argument("--write", type=Path, metavar="FILE", help="replace the table between the marker comments of FILE")
        action.add_argument("--check", type=Path, metavar="FILE", help="exit 1 when FILE's table differs from the generated one")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except Failure as exc:
        print(f"session-docs: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("session-docs: interrupted", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace) -> int:
    from session_docs.site import SiteError, build_site, read_spec

    if args.command == "build":
        from session_docs.guides import GUIDES_PATH

        docs = None if args.no_docs else (args.docs or GUIDES_PATH)
        # The wheel's copy of the guides lacks the repository files they may link to (shown as text there):
        # notes about links are for whoever writes the guides, in a checkout.
        installed_copy = args.docs is None and not GUIDES_PATH.is_symlink()

        def note(line: str) -> None:
            if not (installed_copy and ": link " in line):
                print(f"session-docs: note: {line}", file=sys.stderr)

        try:
            written = build_site(args.out_dir, args.spec, docs, args.results, docs_explicit=args.docs is not None, note=note)
        except SiteError as exc:
            raise Failure(str(exc)) from None
        print(f"wrote {len(written)} files to {args.out_dir}; open {args.out_dir / 'index.html'}")
        return EXIT_OK
    if args.command == "reference":
        return _reference(args.write, args.check, args.spec)
    if args.command == "properties":
        return _generated(PROPERTIES_BLOCK, "properties table", properties_table(), args.write, args.check)
    try:
        _, spec = read_spec(args.spec)
    except SiteError as exc:
        raise Failure(str(exc)) from None
    return _generated(OPERATIONS_BLOCK, "operations table", operations_table(spec), args.write, args.check)


def _read(readme: Path) -> str:
    from session_docs.site import SiteError, read_text

    try:
        return read_text(readme, str(readme), "a Markdown file")
    except SiteError as exc:
        raise Failure(str(exc)) from None


def _generated(block: GeneratedBlock, what: str, table: str, write: Path | None, check: Path | None) -> int:
    """Print `table`, or check or rewrite it between `block`'s markers of a Markdown file (exit 0, 1 stale, 2 no markers)."""
    if write is None and check is None:
        sys.stdout.write(table)
        return EXIT_OK
    readme: Path = write or check  # type: ignore[assignment]
    text = _read(readme)
    if check:
        current = block.content_in(text)
        if current is None:
            raise Failure(f"{readme}: {MarkersMissing.for_block(block)}; add the two marker comments where the table belongs")
        if current != table:
            command = "properties" if block is PROPERTIES_BLOCK else "table"
            print(f"session-docs: {readme}: {what} is out of date; run `session-docs {command} --write {readme}`", file=sys.stderr)
            return EXIT_STALE
        print(f"{readme}: {what} is up to date")
        return EXIT_OK
    try:
        updated = block.with_content(text, table)
    except MarkersMissing as exc:
        raise Failure(f"{readme}: {exc}; add the two marker comments where the table belongs") from None
    if updated != text:
        try:
            readme.write_text(updated, encoding="utf-8")
        except OSError as exc:
            raise Failure(f"{readme}: cannot write it: {exc.strerror or exc}") from None
    print(f"{readme}: {what} {'updated' if updated != text else 'already up to date'}")
    return EXIT_OK


def _reference(write: Path | None, check: Path | None, spec: Path) -> int:
    """`session-docs reference`: exit 0 fresh (or written), 1 stale (with --check), 2 when it cannot be made."""
    from session_docs import reference

    try:
        if check is not None:
            problems = reference.check(check, spec)
            for line in problems:
                print(f"session-docs: {line}", file=sys.stderr)
            if not problems:
                print(f"{check}: the generated documentation is up to date")
            return EXIT_STALE if problems else EXIT_OK
        assert write is not None  # one of the two is required
        changed = reference.write(write, spec)
        print(f"{write}: {len(changed)} generated file(s) updated" + "".join(f"\n  {path}" for path in changed))
        return EXIT_OK
    except (reference.ReferenceError, OSError) as exc:
        raise Failure(str(exc)) from None


if __name__ == "__main__":
    sys.exit(main())
