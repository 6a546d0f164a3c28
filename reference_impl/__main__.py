"""`python -m reference_impl`: serve the bare reference implementation (no mock extras)."""

from __future__ import annotations

import argparse

import uvicorn

from reference_impl import create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m reference_impl",
        description="Serve the session API reference implementation (in-memory) with uvicorn.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8090, help="port to listen on (default: %(default)s)")
    args = parser.parse_args(argv)
    print(f"Session API on http://{args.host}:{args.port}/api/v1  (Swagger UI: /api/v1/ui/)", flush=True)
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
