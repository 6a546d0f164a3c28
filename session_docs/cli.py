"""`session-docs`: build the documentation site, or print/write/check the README's generated tables
(operations from the spec, properties from the conformance suite's registry)."""

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
    for name, what in (("table", "operations table generated from the spec"),
                       ("properties", "table of contract properties generated from the suite's registry")):
        command = commands.add_parser(name, help=f"print the README's {what}")
        action = command.add_mutually_exclusive_group()
        action.add_argument("--write", type=Path, metavar="README", help="replace the table between the marker comments of README")
        action.add_argument("--check", type=Path, metavar="README", help="exit 1 when README's table differs from the generated one")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "build":
        written = build_site(args.out_dir, args.spec)
        print(f"wrote {len(written)} files to {args.out_dir}; open {args.out_dir / 'index.html'} or {args.out_dir / 'contract.html'}")
        return 0
    if args.command == "properties":
        return _generated(PROPERTIES_BLOCK, "properties table", properties_table(), args.write, args.check)
    return _generated(OPERATIONS_BLOCK, "operations table", operations_table(load_spec(args.spec)), args.write, args.check)


def _generated(block: GeneratedBlock, what: str, table: str, write: Path | None, check: Path | None) -> int:
    """Print `table`, or check or rewrite it between `block`'s markers of a README (exit 0, 1 stale, 2 no markers)."""
    if write is None and check is None:
        sys.stdout.write(table)
        return 0
    readme: Path = write or check  # type: ignore[assignment]
    text = readme.read_text(encoding="utf-8")
    if check:
        current = block.content_in(text)
        if current != table:
            print(f"{readme}: {what} is {'missing' if current is None else 'out of date'}; run `{block.command.replace('README.md', str(readme))}`", file=sys.stderr)
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

if __name__ == "__main__":
    sys.exit(main())
