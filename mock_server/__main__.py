"""`python -m mock_server`: the same as the `session-mock` command."""

from mock_server.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
