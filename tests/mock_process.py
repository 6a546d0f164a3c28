"""`MockProcess`: the real `session-mock` CLI as a subprocess on a free loopback port, for tests and bench."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
LISTENING = re.compile(r"session-mock listening on (http://\S+)")


class MockProcess:
    """`python -m mock_server --port 0 ARGS...`; `base_url` is read from its start-up banner; `env`: its
    environment (default: this process's); `ready`: the path that answers 200 once it serves (a proxy in
    front of a deployment it cannot reach answers /health 502: `/__mock/violations` then)."""

    def __init__(self, *args: str | os.PathLike[str], env: Mapping[str, str] | None = None, ready: str = "/health") -> None:
        self.args = [sys.executable, "-m", "mock_server", "--port", "0", *map(str, args)]
        self.env = None if env is None else dict(env)
        self.ready = ready
        self.process: subprocess.Popen[str] | None = None
        self.banner: list[str] = []
        self.base_url = ""
        # The log goes to a file, not a pipe, so a chatty mock never blocks on a full pipe.
        handle, name = tempfile.mkstemp(prefix="session-mock-", suffix=".log")
        os.close(handle)
        self.log_path = Path(name)

    def start(self, timeout: float = 30.0) -> MockProcess:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.args, cwd=REPO, stdout=subprocess.PIPE, stderr=log, text=True, start_new_session=True, env=self.env
            )
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.banner.append(line.rstrip("\n"))
            match = LISTENING.search(line)
            if match:
                self.base_url = match.group(1)
                break
        else:
            raise RuntimeError(f"session-mock did not start (exit {self.process.wait()}): {self.stderr_text()}")
        for line in self.process.stdout:  # the rest of the banner ends with the latency line
            self.banner.append(line.rstrip("\n"))
            if line.lstrip().startswith("Latency"):
                break
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(self.base_url + self.ready, timeout=2.0).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"session-mock did not answer {self.ready}")
            time.sleep(0.05)

    def signal(self, signum: int, timeout: float = 15.0) -> int:
        """Send `signum` and wait for the process to end; its return code."""
        assert self.process is not None
        self.process.send_signal(signum)
        return self.process.wait(timeout)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.signal(signal.SIGTERM)
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()
        self.log_path.unlink(missing_ok=True)

    def stderr_text(self) -> str:
        """Everything the mock has logged so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def __enter__(self) -> MockProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_cli(*args: str | os.PathLike[str], timeout: float = 30.0, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `python -m mock_server ARGS` to completion (for options that end it: --help, bad input)."""
    return subprocess.run(
        [sys.executable, "-m", "mock_server", *map(str, args)], cwd=REPO, capture_output=True, text=True, timeout=timeout,
        env=None if env is None else dict(env),
    )
