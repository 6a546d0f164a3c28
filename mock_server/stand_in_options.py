"""The `session-mock` options that choose a stand-in: `--profile`, `--write-lag`, `--no-cors`, `--proxy*`.

Declared, checked (conflicts are usage errors: exit 2 with one line) and turned into a `StandIn`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mock_server.profile import CONTRACT, ProfileError, available_profiles, load_profile
from mock_server.proxy import ProxySettings, parse_proxy_url
from mock_server.stand_in import StandIn
from session_spec.credentials import without_credentials

MAX_WRITE_LAG_MS = 60_000


def _write_lag(text: str) -> int:
    if not text.isdigit() or int(text) > MAX_WRITE_LAG_MS:
        raise argparse.ArgumentTypeError(f"must be whole milliseconds from 0 to {MAX_WRITE_LAG_MS}, not {text!r}")
    return int(text)


def _timeout(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 600:
        raise argparse.ArgumentTypeError(f"must be seconds above 0 and at most 600, not {text!r}")
    return value


def _proxy_url(text: str) -> str:
    try:
        return parse_proxy_url(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_stand_in_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("standing in for a deployment")
    group.add_argument(
        "--profile", default=CONTRACT, choices=available_profiles(),
        help="answer as the documented contract does (contract, the default) or as today's production "
        "service does where it differs: list 405 with Allow: POST, GET without data, PATCH 405, 405 with "
        "Allow: GET for methods the item path does not serve; /api/v1/openapi.json and Swagger UI then show production's "
        "own description (production)",
    )
    group.add_argument(
        "--write-lag", type=_write_lag, default=0, metavar="MS",
        help="make each acknowledged write (create, PATCH, DELETE) visible only MS milliseconds after its "
        "answer, as a service that commits after answering does (default: 0, visible at once)",
    )
    group.add_argument(
        "--no-cors", action="store_true",
        help="send no CORS headers, as production does: shows what a browser page on another origin meets",
    )
    group.add_argument(
        "--proxy", type=_proxy_url, metavar="URL",
        help="forward every API request to the deployment at URL and check each exchange against openapi.yaml "
        "and the contract's per-request rules; violations go to /__mock/requests and /__mock/violations",
    )
    group.add_argument(
        "--proxy-strict", action="store_true",
        help="with --proxy: answer a violating response as 502 with a JSON detail naming the violations",
    )
    group.add_argument(
        "--record", type=Path, metavar="FILE",
        help="with --proxy: keep the sessions the deployment answered with (creates and GETs; deleted ones dropped) and "
        "write them to FILE at shutdown in the seed format, so that --seed FILE replays them offline",
    )
    group.add_argument(
        "--proxy-timeout", type=_timeout, default=10.0, metavar="S",
        help="with --proxy: give up on the deployment after S seconds, answering 502/504 (default: %(default)s)",
    )


def stand_in_from_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> StandIn:
    """The `StandIn` the options ask for; conflicting options stop the CLI via `parser.error` (exit 2)."""
    if args.proxy is None:
        if args.proxy_strict:
            parser.error("--proxy-strict needs --proxy URL")
        if args.record is not None:
            parser.error("--record needs --proxy URL: it records what a deployment answers")
    else:
        local = [name for name, used in (
            ("--profile production", args.profile != CONTRACT), ("--write-lag", args.write_lag > 0),
            ("--seed", getattr(args, "seed", None) is not None), ("--state-file", getattr(args, "state_file", None) is not None),
        ) if used]
        if local:
            parser.error(f"{', '.join(local)} {'shapes' if len(local) == 1 else 'shape'} the mock's own answers; with --proxy the deployment answers")
    if args.record is not None and not args.record.parent.is_dir():
        parser.error(f"--record {args.record}: the folder {args.record.parent} does not exist")
    try:
        profile = load_profile(args.profile)
    except ProfileError as exc:
        parser.error(str(exc))
    proxy = ProxySettings(args.proxy, args.proxy_strict, args.proxy_timeout) if args.proxy else None
    return StandIn(profile=profile, write_lag_ms=args.write_lag, proxy=proxy, record=args.record)


def describe_stand_in(args: argparse.Namespace) -> list[str]:
    """Banner lines for the stand-in choices (none for the plain contract mock)."""
    lines = []
    if args.profile != CONTRACT:
        profile = load_profile(args.profile)
        lines.append(f"  Profile      {args.profile}: {profile.summary}")
        if not profile.sends_cors and not args.no_cors:
            lines.append(f"               ({args.profile} sends no CORS headers; add --no-cors to see what a browser meets there)")
    if args.write_lag:
        lines.append(f"  Write lag    {args.write_lag} ms (acknowledged writes become visible that much later)")
    if args.proxy:
        mode = "strict: violating answers become 502" if args.proxy_strict else "violations reported"
        lines.append(f"  Proxy        {without_credentials(args.proxy)} ({mode}; summary at /__mock/violations)")
        if args.record is not None:
            lines.append(f"  Record       sessions answered, written to {args.record} at shutdown (replay: --seed {args.record})")
    return lines
