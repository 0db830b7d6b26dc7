"""/health and a page while anonymous clients flood the endpoints that cost us work, limits off and on.

    scripts/ensure-postgres && .venv/bin/python bench/flood.py [--clients 16] [--seconds 20]

Serves with the production command (scripts/serve --no-worker: gunicorn, DEBUG off) on a scratch
PostgreSQL database (DATABASE_URL's server, database obsqra_flood, dropped afterwards). Each run:
the median and p90 of /health and /proofs/ for a quiet minute's worth of requests, then the same
while --clients threads post decisions to /api/v1/proofs/generate as fast as they are answered;
what the flood got (2xx / 429), how many jobs it stored and how much the database grew. The
reference is the same server with the limits lifted, as the service was before it had any.
"""

import argparse
import os
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import environ
import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
DECISION = {
    "jediswap_metrics": {"utilization": 6500, "volatility": 3500, "liquidity": 1, "audit_score": 98, "age_days": 800},
    "ekubo_metrics": {"utilization": 5000, "volatility": 2500, "liquidity": 2, "audit_score": 95, "age_days": 600},
}
LIFTED = {name: "1000000/m" for name in ("RATE_LIMIT_PROVE", "RATE_LIMIT_ORCHESTRATE", "RATE_LIMIT_VERIFY")}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def scratch_database(server_url: str, name: str) -> str:
    admin = environ.Env.db_url_config(server_url)
    conninfo = f"host={admin['HOST']} port={admin['PORT']} user={admin['USER']} dbname=postgres"
    if admin["PASSWORD"]:
        conninfo += f" password={admin['PASSWORD']}"
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + f"/{name}"


def drop_database(url: str) -> None:
    config = environ.Env.db_url_config(url)
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{config["NAME"]}" WITH (FORCE)')


def database_megabytes(url: str) -> float:
    with psycopg.connect(url) as connection:
        return connection.execute("SELECT pg_database_size(current_database())").fetchone()[0] / 1e6


def stored_jobs(url: str) -> int:
    with psycopg.connect(url) as connection:
        return connection.execute("SELECT count(*) FROM proofs_proofjob").fetchone()[0]


class Server:
    def __init__(self, database_url: str, static_root: Path, **env: str):
        self.url = f"http://127.0.0.1:{free_port()}"
        self.process = subprocess.Popen(
            [ROOT / "scripts" / "serve", "--no-worker"],
            env=os.environ | {
                "DATABASE_URL": database_url, "SECRET_KEY": secrets.token_urlsafe(50), "DEBUG": "false",
                "DEPLOY_CHECK": "no", "STATIC_ROOT": str(static_root), "CHAIN_ENV_FILE": "/dev/null",
                "WEB_BIND": self.url.removeprefix("http://"), "PY": sys.executable, **env,
            },  # fmt: skip
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(self.url + "/health", timeout=2)
                return
            except httpx.TransportError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise SystemExit("scripts/serve did not start")
                time.sleep(0.3)

    def stop(self) -> None:
        os.killpg(self.process.pid, 15)
        self.process.wait(timeout=30)


def latencies(url: str, paths: list[str], stop: threading.Event | None, count: int) -> dict[str, list[float]]:
    """Times `count` rounds of the paths (or rounds until `stop` is set), one request a time."""
    times = {path: [] for path in paths}
    with httpx.Client(base_url=url, timeout=30) as client:
        for round_number in range(count):
            if stop is not None and stop.is_set():
                break
            for path in paths:
                started = time.perf_counter()
                client.get(path)
                times[path].append((time.perf_counter() - started) * 1000)
            time.sleep(0.05)
    return times


def flood(url: str, clients: int, seconds: float) -> tuple[Counter, dict[str, list[float]]]:
    answers: Counter = Counter()
    lock = threading.Lock()
    stop = threading.Event()

    def client_loop():
        with httpx.Client(base_url=url, timeout=30) as client:
            while not stop.is_set():
                status = client.post("/api/v1/proofs/generate", json=DECISION).status_code
                with lock:
                    answers[status] += 1

    threads = [threading.Thread(target=client_loop) for _ in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(1)  # the flood is on before the probes start
    timer = threading.Timer(seconds, stop.set)
    timer.start()
    probed = latencies(url, ["/health", "/proofs/"], stop, count=10**9)
    for thread in threads:
        thread.join()
    return answers, probed


def summary(times: list[float]) -> str:
    if len(times) < 2:
        return "n/a"
    return f"{statistics.median(times):7.1f} / {statistics.quantiles(times, n=10)[-1]:7.1f}"


def run(database_url: str, static_root: Path, clients: int, seconds: float, **env: str) -> dict:
    server = Server(database_url, static_root, **env)
    try:
        latencies(server.url, ["/health", "/proofs/"], None, count=5)  # warm-up
        quiet = latencies(server.url, ["/health", "/proofs/"], None, count=60)
        jobs_before, size_before = stored_jobs(database_url), database_megabytes(database_url)
        answers, loud = flood(server.url, clients, seconds)
        return {
            "quiet": quiet, "flood": loud, "answers": answers,
            "jobs": stored_jobs(database_url) - jobs_before, "growth": database_megabytes(database_url) - size_before,
        }  # fmt: skip
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:54329/obsqra"))
    args = parser.parse_args()

    database_url = scratch_database(args.database_url, "obsqra_flood")
    static_root = Path(os.environ.get("TMPDIR", "/tmp")) / "obsqra-flood-static"
    try:
        print(f"{args.clients} anonymous clients posting /api/v1/proofs/generate for {args.seconds:.0f} s; "
              "latency ms median / p90, one request at a time beside them\n")  # fmt: skip
        results = {
            "limits lifted (reference)": run(database_url, static_root, args.clients, args.seconds, **LIFTED),
            "limits on (30/m per client)": run(database_url, static_root, args.clients, args.seconds),
        }
    finally:
        drop_database(database_url)

    header = f"{'':34}" + "".join(f"{name:>30}" for name in results)
    print(header)
    rows = [
        ("/health, quiet", lambda r: summary(r["quiet"]["/health"])),
        ("/health, under the flood", lambda r: summary(r["flood"]["/health"])),
        ("/proofs/, quiet", lambda r: summary(r["quiet"]["/proofs/"])),
        ("/proofs/, under the flood", lambda r: summary(r["flood"]["/proofs/"])),
        ("flood answered 200", lambda r: str(r["answers"][200])),
        ("flood answered 429", lambda r: str(r["answers"][429])),
        ("jobs stored by the flood", lambda r: str(r["jobs"])),
        ("database growth (MB)", lambda r: f"{r['growth']:.1f}"),
    ]
    for label, value in rows:
        print(f"{label:34}" + "".join(f"{value(result):>30}" for result in results.values()))


if __name__ == "__main__":
    main()
