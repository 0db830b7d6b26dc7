"""Prover figures for one decision from Python, and decisions proven per second through the HTTP API.

First the crate's own table (proofs/stark/examples/bench.rs): prove and verify medians, size, conjectured and proven
bits of our option set beside the retired v1 one.

    .venv/bin/python bench/prover.py [--runs 200] [--requests 200]

The API part starts the real web server on a scratch SQLite database on 127.0.0.1, then fetches a decision's
bundle and times its verification beside the bare proof file's.
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from obsqra_stark import _stark  # noqa: E402

from allocations import risk  # noqa: E402
from proofs.statement import PublicInputs, prove, verify  # noqa: E402

V2 = risk.ModelParams.from_elements([25, 10000, 0, 40, 10000, 0, 0, 5, 15, 30, 3, 10, 0, 730, 10, 730, 0, 5, 95])
METRICS = risk.ProtocolMetrics(utilization=500, volatility=2000, liquidity=2, audit_score=85, age_days=365)
POLICY = risk.PolicyTerms(max_single=6000, min_diversification=2, max_volatility=10000, min_liquidity=3)
BODY = {
    "jediswap_metrics": {"utilization": 6500, "volatility": 3500, "liquidity": 1, "audit_score": 98, "age_days": 800},
    "ekubo_metrics": {"utilization": 5000, "volatility": 2500, "liquidity": 2, "audit_score": 95, "age_days": 600},
}


def timed(fn, runs):
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), result


def bench_options():
    manifest = ROOT / "proofs" / "stark" / "Cargo.toml"
    cargo = ["cargo", "run", "--release", "--quiet", "--manifest-path", str(manifest), "--example", "bench"]
    subprocess.run(cargo, check=True)


def bench_prover(runs):
    statement = PublicInputs.for_decision(V2, METRICS, METRICS, risk.Apys(), POLICY)
    prove_s, proof = timed(lambda: prove(statement), runs)
    verify_s, _ = timed(lambda: verify(proof, statement), runs)
    print(f"prover           {_stark.PROVER_NAME}")
    print(f"prove (median)   {prove_s * 1000:.2f} ms over {runs} runs")
    print(f"verify (median)  {verify_s * 1000:.2f} ms over {runs} runs")
    print(f"proof size       {len(proof):,} bytes")
    security = _stark.security(proof)
    print(f"security         {security['proven_bits']} bits proven, {security['conjectured_bits']} bits conjectured")


def bench_bundle(client, runs):
    """A decision's bundle: served (first with its Cairo run, then again), and verified beside its bare proof file."""
    job_id = client.post("/api/v1/risk-engine/orchestrate-allocation", json=BODY).json()["proof_job_id"]
    for label in ("first (runs Cairo)", "again"):
        started = time.perf_counter()
        bundle = client.get(f"/api/v1/proofs/{job_id}/bundle", timeout=60).raise_for_status().content
        print(f"GET bundle, {label:20s} {(time.perf_counter() - started) * 1000:8.1f} ms, {len(bundle):,} bytes")
    proof_file = client.get(f"/api/v1/proofs/{job_id}/download").raise_for_status().content
    bundle_s, _ = timed(lambda: _stark.verify_bundle(bundle), runs)
    file_s, _ = timed(lambda: _stark.verify_proof_file(proof_file), runs)
    print(f"verify bundle (median)     {bundle_s * 1000:.2f} ms  | proof file alone {file_s * 1000:.2f} ms ({runs} runs)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_api(requests):
    with tempfile.TemporaryDirectory() as scratch:
        env = os.environ | {"DATABASE_URL": f"sqlite:///{scratch}/bench.sqlite3", "SECRET_KEY": "bench", "DEBUG": "false"}
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "-v0"], env=env, check=True)
        subprocess.run([*manage, "createcachetable"], env=env, check=True)
        port = free_port()
        server = subprocess.Popen(
            [*manage, "runserver", "--noreload", "--nothreading", f"127.0.0.1:{port}"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
                for _ in range(100):
                    try:
                        client.get("/health")
                        break
                    except httpx.TransportError:
                        time.sleep(0.1)
                for path in ("/api/v1/proofs/generate", "/api/v1/risk-engine/orchestrate-allocation"):
                    started = time.perf_counter()
                    for _ in range(requests):
                        client.post(path, json=BODY).raise_for_status()
                    rate = requests / (time.perf_counter() - started)
                    print(f"{path:45s} {rate:6.1f} decisions/s ({requests} sequential requests, one client)")
                bench_bundle(client, runs=50)
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    bench_options()
    bench_prover(args.runs)
    bench_api(args.requests)
