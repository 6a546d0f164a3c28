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
from session_spec.tls import Tls, TlsError

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
    group.add_argument(
        "--proxy-cacert", metavar="FILE",
        help="with an https --proxy: the CA bundle (PEM) to trust, e.g. an internal CA "
        "(default: SSL_CERT_FILE, then REQUESTS_CA_BUNDLE, then SSL_CERT_DIR, then certifi's bundle)",
    )
    group.add_argument(
        "--proxy-cert", metavar="FILE",
        help="with an https --proxy: the client certificate (PEM) for a deployment that requires mutual TLS; the key too, unless --proxy-key",
    )
    group.add_argument("--proxy-key", metavar="FILE", help="with --proxy-cert: the client certificate's private key (PEM)")


def stand_in_from_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> StandIn:
    """The `StandIn` the options ask for; conflicting options stop the CLI via `parser.error` (exit 2)."""
    if args.proxy is None:
        if args.proxy_strict:
            parser.error("--proxy-strict needs --proxy URL")
        for option in ("proxy_cacert", "proxy_cert", "proxy_key"):
            if getattr(args, option) is not None:
                parser.error(f"--{option.replace('_', '-')} needs --proxy URL: it sets up TLS to the deployment")
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
    proxy = None
    if args.proxy:
        try:
            tls = proxy_tls(args)
        except TlsError as exc:
            parser.error(str(exc))
        proxy = ProxySettings(args.proxy, args.proxy_strict, args.proxy_timeout, tls)
    return StandIn(profile=profile, write_lag_ms=args.write_lag, proxy=proxy, record=args.record)


def proxy_tls(args: argparse.Namespace) -> Tls:
    """The proxy's TLS settings: the --proxy-* options, and the environment for an https deployment
    (TlsError, one line, for a file that cannot be used)."""
    https = (args.proxy or "").lower().startswith("https:")
    return Tls.from_options(args.proxy_cacert, args.proxy_cert, args.proxy_key, environ=None if https else {}, options="--proxy-")


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
        if args.proxy.lower().startswith("https:") or args.proxy_cacert or args.proxy_cert:
            lines.append(f"  Proxy TLS    {proxy_tls(args).describe()}")
        if args.record is not None:
            lines.append(f"  Record       sessions answered, written to {args.record} at shutdown (replay: --seed {args.record})")
    return lines
