"""The `session-mock` command: parse options, open the store, seed it, and serve the mock with uvicorn."""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn, TypeVar

import uvicorn

from mock_server.app import create_mock_app
from mock_server.cors import check_origin
from mock_server.cors import describe as describe_cors
from mock_server.forwarded import check_root_path
from mock_server.hosts import AllowedHosts, check_allowed_host
from mock_server.latency import Latency
from mock_server.logs import configure_logging
from mock_server.seed import SeedError, load_seed, parse_seed
from mock_server.sqlite_store import SqliteSessionStore, StateFileError
from mock_server.stand_in_options import add_stand_in_options, describe_stand_in, stand_in_from_args
from reference_impl.store import InMemorySessionStore, SessionRecord, SessionStore
from session_spec import toolkit_version
from session_spec.credentials import usage_text, without_credentials
from session_spec.rules import JsonBodyError, parse_json

PROG = "session-mock"
T = TypeVar("T")


class StartupError(Exception):
    """A reason the mock cannot start, told to the operator as one line."""


class ShutdownDone(Exception):
    """SIGINT/SIGTERM arrived (re-raised by uvicorn once it has shut down cleanly)."""


def _shutdown_done(signum: int, frame: object) -> None:
    raise ShutdownDone(signum)


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad option is told in one line (`session-mock: error: ...`), exit status 2, never
    echoing a value it did not understand (a mistyped option's argument may be a --proxy URL's password)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {usage_text(message)} (see --help)\n")


def _option_type(parse: Callable[[str], T]) -> Callable[[str], T]:
    """An argparse `type` that keeps the parser's own ValueError message (argparse drops it)."""

    def checked(text: str) -> T:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    checked.__name__ = parse.__name__
    return checked


def _ip_list(text: str) -> list[str]:
    """A comma-separated list of client addresses (or `*`)."""
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items or any(" " in item or "/" in item for item in items):
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of addresses (e.g. 127.0.0.1,10.0.0.5) or *")
    return items


def port_number(text: str) -> int:
    """A TCP port, 0 to 65535 (0: the system picks a free one)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port: use 0 to 65535 (0 picks a free one)")
    return port


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog=PROG,
        description=(
            "Serve the midPilot session API mock for frontend development: the reference implementation "
            "of openapi.yaml (request and response validation on) with CORS, forced responses "
            "(Prefer: code=500, example=NAME, delay=MS, or ?__code=/__example=/__delay=), latency, seed "
            "data and admin routes under /__mock/ (reset, requests, sessions, namespace). A request's X-Mock-Namespace "
            "header (or session_mock_ns cookie, set by POST /__mock/namespace?name=NAME) gives it a namespace of its own: "
            "sessions, journal and reset apart, starting from the --seed fixtures."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {toolkit_version()}")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: %(default)s, reachable from this machine only)")
    parser.add_argument("--port", type=port_number, default=8090, help="port to listen on; 0 picks a free one (default: %(default)s)")
    parser.add_argument(
        "--cors-origin", action="append", metavar="ORIGIN", dest="cors_origins", type=_option_type(check_origin),
        help="browser origin allowed to call the mock, exactly as the browser sends it (scheme://host[:port], "
        "e.g. http://localhost:5173; 'null' for file:// pages, '*' for any); repeatable; replaces the default, "
        "which allows any http://localhost:<port> and http://127.0.0.1:<port>",
    )
    parser.add_argument(
        "--cors-credentials", action=argparse.BooleanOptionalAction, default=True,
        help="allow credentialed cross-origin requests (fetch credentials: 'include', axios withCredentials): "
        "answers echo the allowed origin with Access-Control-Allow-Credentials: true (default: allowed)",
    )
    parser.add_argument(
        "--seed", type=Path, metavar="FILE",
        help='load sessions at start-up from a JSON array of {"sessionId", "data", "createdAt"?, "updatedAt"?} '
        "(the same format as POST /__mock/sessions); seeded ids replace stored ones; POST /__mock/reset "
        "restores them (POST /__mock/reset?fixtures=none leaves the store empty)",
    )
    parser.add_argument(
        "--latency", type=_option_type(Latency.parse), default=Latency(), metavar="MS|MIN-MAX",
        help="delay every API answer by MS milliseconds, or by a random delay from MIN to MAX; at most 60000 (default: none)",
    )
    parser.add_argument(
        "--state-file", type=Path, metavar="PATH",
        help="keep sessions in this SQLite file so they survive restarts and kill -9 (created if missing); "
        "without it sessions live in memory only",
    )
    parser.add_argument(
        "--allowed-host", action="append", default=[], metavar="NAME", dest="allowed_hosts", type=_option_type(check_allowed_host),
        help="a Host name the mock answers to besides the loopback names (localhost, *.localhost, 127.0.0.1, [::1]) and "
        "the address it is bound to: e.g. the ingress's name, or *.example.com for any name under it, or * for any "
        "(no protection); repeatable. Requests for other hosts get 403 (protection against DNS rebinding)",
    )
    parser.add_argument(
        "--root-path", type=_option_type(check_root_path), default="", metavar="/PREFIX",
        help="the public path prefix when a proxy serves the mock under one (https://host/PREFIX/...): Swagger UI, "
        "the served spec's servers and the banner use it; requests that still carry it are accepted too (default: none)",
    )
    parser.add_argument(
        "--forwarded-allow-ips", type=_ip_list, action="append", default=[], metavar="IP[,IP...]",
        help="proxies trusted to send X-Forwarded-Prefix (replaces --root-path), X-Forwarded-Host and X-Forwarded-Proto "
        "(and uvicorn's X-Forwarded-For); '*' trusts any client; repeatable (default: none, the headers are ignored)",
    )
    parser.add_argument(
        "--log-format", choices=["text", "json"], default="text",
        help="access and server log lines on stderr as plain text or one JSON object per line (default: %(default)s)",
    )
    add_stand_in_options(parser)
    return parser


def open_store(state_file: Path | None) -> SessionStore:
    if state_file is None:
        return InMemorySessionStore()
    try:
        return SqliteSessionStore(state_file)
    except StateFileError as exc:
        raise StartupError(str(exc)) from None


def read_seed(path: Path) -> list[SessionRecord]:
    try:
        return parse_seed(parse_json(path.read_bytes()))
    except OSError as exc:
        raise StartupError(f"cannot read seed file {path}: {exc.strerror}") from None
    except JsonBodyError as exc:
        kind = "is not valid JSON" if exc.malformed else "holds JSON the API refuses"
        raise StartupError(f"seed file {path} {kind}: {exc.msg}") from None
    except SeedError as exc:
        raise StartupError(f"seed file {path} does not follow the seed format: {exc}") from None


def bind(host: str, port: int) -> socket.socket:
    try:
        sock = socket.create_server((host, port), reuse_port=False)
    except OSError as exc:
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.set_inheritable(True)
    return sock


def banner(base_url: str, args: argparse.Namespace, store: SessionStore, sessions: int) -> str:
    where = f"state file {args.state_file}" if args.state_file else "memory"
    if args.proxy:
        where = f"the deployment at {without_credentials(args.proxy)} (proxied; nothing stored here)"
    before = " before forwarding" if args.proxy else ""
    return "\n".join([
        f"session-mock listening on {base_url}",
        f"  API          {base_url}/api/v1/session",
        f"  Swagger UI   {base_url}/api/v1/ui/",
        f"  OpenAPI      {base_url}/api/v1/openapi.json",
        f"  Admin        {base_url}/__mock/ (GET: the list), {base_url}/__mock/reset (POST), {base_url}/__mock/requests (GET), "
        f"{base_url}/__mock/sessions (GET, POST)"
        + (f", {base_url}/__mock/violations (GET)" if args.proxy else f", {base_url}/__mock/namespace (GET, POST)"),
        f"  Health       {base_url}/health",
        f"  Store        {where}" + ("" if args.proxy else f" (sessions stored: {sessions})"),
        *describe_hosts(args),
        *describe_forwarding(args),
        f"  CORS         {describe_cors(args.cors_origins, args.cors_credentials) if not args.no_cors else 'off (--no-cors)'}",
        *describe_stand_in(args),
        f"  Forced       Prefer: code=, example=, delay= (or ?__code=, ?__example=, ?__delay=) answered here{before and ', never forwarded'}",
        f"  Latency      {args.latency}{before}" if args.latency.high_ms else "  Latency      none (--latency MS or MIN-MAX adds some)",
    ])


def allowed_hosts(args: argparse.Namespace, bound: str) -> list[str]:
    """The names the mock answers to besides the loopback names: the bound address and --allowed-host."""
    # The bound address itself, the wildcard included: the banner prints http://0.0.0.0:PORT/ URLs, and a
    # browser on this machine opens them with that Host (no DNS name, so no rebinding through it).
    return [*([bound] if bound else []), *args.allowed_hosts]


def describe_hosts(args: argparse.Namespace) -> list[str]:
    """The banner's lines on allowed hosts; `--host 0.0.0.0` users are told what other machines need."""
    hosts = AllowedHosts(allowed_hosts(args, args.host))
    lines = [f"  Hosts        {hosts.describe()} (other Host names get 403; --allowed-host NAME adds one)"]
    if args.host in ("0.0.0.0", "::") and not hosts.any:
        lines.append(
            f"               (--host {args.host}: other machines reach this one by a name or address that is not loopback; "
            "pass it with --allowed-host, e.g. --allowed-host 192.168.1.20 or --allowed-host mock.example.com)"
        )
    return lines


def describe_forwarding(args: argparse.Namespace) -> list[str]:
    """The banner's line on the public path prefix and trusted proxies (none without either option)."""
    if not args.root_path and not args.forwarded_allow_ips:
        return []
    trusted = ", ".join(ip for ips in args.forwarded_allow_ips for ip in ips) or "none"
    return [f"  Root path    {args.root_path or 'none'} (X-Forwarded-Prefix/-Host/-Proto trusted from: {trusted})"]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    stand_in = stand_in_from_args(parser, args)
    configure_logging(args.log_format)
    store: SessionStore | None = None
    try:
        records = read_seed(args.seed) if args.seed else []
        store = open_store(args.state_file)
        asyncio.run(load_seed(store, records))
        sessions = asyncio.run(store.count())
        sock = bind(args.host, args.port)
    except StartupError as exc:
        if store is not None:
            asyncio.run(store.close())
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    host, port = sock.getsockname()[:2]
    base_url = f"http://{host}:{port}{args.root_path}"
    trusted = [ip for ips in args.forwarded_allow_ips for ip in ips]
    app = create_mock_app(
        store, cors_origins=args.cors_origins, cors_credentials=args.cors_credentials, latency=args.latency, cors=not args.no_cors,
        stand_in=stand_in, freeze_heap=True, fixtures=records, allowed_hosts=allowed_hosts(args, host),
        root_path=args.root_path, forwarded_allow_ips=trusted,
    )
    print(banner(base_url, args, store, sessions), flush=True)
    config = uvicorn.Config(
        app, host=host, port=port, log_config=None, access_log=False, lifespan="on", timeout_graceful_shutdown=0.5, forwarded_allow_ips=",".join(trusted) or None,  # type: ignore[arg-type]  # uvicorn takes seconds as a float
    )
    # On SIGINT/SIGTERM uvicorn shuts down (the lifespan closes the store), restores the handlers
    # it found and re-raises the signal: these handlers turn that into a quiet exit with status 0.
    signal.signal(signal.SIGTERM, _shutdown_done)
    signal.signal(signal.SIGINT, _shutdown_done)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except ShutdownDone:
        pass
    return 0
