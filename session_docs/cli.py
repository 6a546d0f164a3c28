"""`session-docs`: build the documentation site; write or check the generated part of docs/ (every
command's options, every property, the tables inside the guides); print, write or check one table."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from session_docs.properties import PROPERTIES_BLOCK, properties_table
from session_docs.site import build_site
from session_docs.table import OPERATIONS_BLOCK, GeneratedBlock, MarkersMissing, operations_table
from session_spec import DEFAULT_SPEC_PATH, load_spec, toolkit_version


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="session-docs", description="Documentation generated from openapi.yaml.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {toolkit_version()}")
    parser.add_argument("--spec", type=Path, default=DEFAULT_SPEC_PATH, help="the OpenAPI document (default: the packaged contract, the repository's openapi.yaml)")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="write the static site (Swagger UI, contract page, spec as YAML and JSON)")
    build.add_argument("out_dir", type=Path, help="directory to write the site into (created if missing)")
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
    if args.command == "build":
        written = build_site(args.out_dir, args.spec)
        print(f"wrote {len(written)} files to {args.out_dir}; open {args.out_dir / 'index.html'} or {args.out_dir / 'contract.html'}")
        return 0
    if args.command == "reference":
        return _reference(args.write, args.check, args.spec)
    if args.command == "properties":
        return _generated(PROPERTIES_BLOCK, "properties table", properties_table(), args.write, args.check)
    return _generated(OPERATIONS_BLOCK, "operations table", operations_table(load_spec(args.spec)), args.write, args.check)


def _generated(block: GeneratedBlock, what: str, table: str, write: Path | None, check: Path | None) -> int:
    """Print `table`, or check or rewrite it between `block`'s markers of a Markdown file (exit 0, 1 stale, 2 no markers)."""
    if write is None and check is None:
        sys.stdout.write(table)
        return 0
    readme: Path = write or check  # type: ignore[assignment]
    text = readme.read_text(encoding="utf-8")
    if check:
        current = block.content_in(text)
        if current != table:
            command = "properties" if block is PROPERTIES_BLOCK else "table"
            print(f"{readme}: {what} is {'missing' if current is None else 'out of date'}; run `session-docs {command} --write {readme}`", file=sys.stderr)
            return 1
        print(f"{readme}: {what} is up to date")
        return 0
    try:
        updated = block.with_content(text, table)
    except MarkersMissing as exc:
        print(f"{readme}: {exc}", file=sys.stderr)
        return 2
    if updated != text:
        readme.write_text(updated, encoding="utf-8")
    print(f"{readme}: {what} {'updated' if updated != text else 'already up to date'}")
    return 0


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
            return 1 if problems else 0
        assert write is not None  # one of the two is required
        changed = reference.write(write, spec)
        print(f"{write}: {len(changed)} generated file(s) updated" + "".join(f"\n  {path}" for path in changed))
        return 0
    except (reference.ReferenceError, OSError) as exc:
        print(f"session-docs: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
