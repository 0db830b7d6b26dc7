"""The production command (scripts/serve) as a test fixture: gunicorn with production settings on 127.0.0.1.

It works on the test database, so the tests that use it commit their rows (transactional tests).
"""

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import test_database_url

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def production_env(static_root: Path, **overrides: str) -> dict[str, str]:
    """What an operator sets behind a TLS proxy (README, "Production"), on the test database."""
    # what a test process may carry that a deployment must not (the browser tests set it for Playwright)
    inherited = {name: value for name, value in os.environ.items() if name != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return inherited | {
        "DATABASE_URL": test_database_url(),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "false",
        "HTTPS": "true",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "STATIC_ROOT": str(static_root),
        "CHAIN_ENV_FILE": "/dev/null",
        "PY": sys.executable,
        "WEB_WORKERS": "2",
        **overrides,
    }


class ProductionServer:
    def __init__(self, process: subprocess.Popen, port: int, log: Path):
        self.process, self.port, self.log = process, port, log
        self.url = f"http://127.0.0.1:{port}"
        self.https_origin = f"https://127.0.0.1:{port}"  # what the TLS proxy in front of it would serve

    def client(self, **headers) -> httpx.Client:
        """A client as the TLS proxy forwards it: X-Forwarded-Proto https."""
        return httpx.Client(base_url=self.url, headers={"X-Forwarded-Proto": "https", **headers}, timeout=20)

    def stop(self) -> float:
        """SIGTERM to the process group, as systemd sends it; returns the seconds until all of it exited."""
        started = time.monotonic()
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
            while _group_alive(self.process.pid) and time.monotonic() - started < 30:
                time.sleep(0.05)
        finally:
            if _group_alive(self.process.pid):
                os.killpg(self.process.pid, signal.SIGKILL)
        return time.monotonic() - started


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@contextmanager
def production_server(tmp_path: Path, *options: str, port: int | None = None, **env: str):
    port = port or free_port()
    log = tmp_path / f"serve-{port}.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [ROOT / "scripts" / "serve", *options],
            env=production_env(tmp_path / "static", WEB_BIND=f"127.0.0.1:{port}", **env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = ProductionServer(process, port, log)
    deadline = time.monotonic() + 120
    while True:
        try:
            httpx.get(f"{server.url}/health", timeout=2)
            break
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                if process.poll() is None:
                    server.stop()
                pytest.fail(f"scripts/serve did not start:\n{log.read_text()}")
            time.sleep(0.3)
    try:
        yield server
    finally:
        if process.poll() is None:
            server.stop()
