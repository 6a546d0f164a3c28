"""`session-docs`: build the documentation site, or print/write/check the README's operations table."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from session_docs.site import build_site
from session_spec import DEFAULT_SPEC_PATH, load_spec, toolkit_version
from session_docs.table import MarkersMissing, operations_table, table_in, with_table


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="session-docs", description="Documentation generated from openapi.yaml.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {toolkit_version()}")
    parser.add_argument("--spec", type=Path, default=DEFAULT_SPEC_PATH, help="the OpenAPI document (default: the repository's openapi.yaml)")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="write the static site (Swagger UI, contract page, spec as YAML and JSON)")
    build.add_argument("out_dir", type=Path, help="directory to write the site into (created if missing)")
    table = commands.add_parser("table", help="print the README's operations table generated from the spec")
    action = table.add_mutually_exclusive_group()
    action.add_argument("--write", type=Path, metavar="README", help="replace the table between the marker comments of README")
    action.add_argument("--check", type=Path, metavar="README", help="exit 1 when README's table differs from the generated one")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "build":
        written = build_site(args.out_dir, args.spec)
        print(f"wrote {len(written)} files to {args.out_dir}; open {args.out_dir / 'index.html'} or {args.out_dir / 'contract.html'}")
        return 0
    table = operations_table(load_spec(args.spec))
    if args.write is None and args.check is None:
        sys.stdout.write(table)
        return 0
    readme: Path = args.write or args.check
    text = readme.read_text(encoding="utf-8")
    if args.check:
        current = table_in(text)
        if current != table:
            print(f"{readme}: operations table is {'missing' if current is None else 'out of date'}; run `session-docs table --write {readme}`", file=sys.stderr)
            return 1
        print(f"{readme}: operations table matches the spec")
        return 0
    try:
        updated = with_table(text, table)
    except MarkersMissing as exc:
        print(f"{readme}: {exc}", file=sys.stderr)
        return 2
    if updated != text:
        readme.write_text(updated, encoding="utf-8")
    print(f"{readme}: operations table {'updated' if updated != text else 'already up to date'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
