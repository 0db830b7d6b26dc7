"""Execute-to-confirmed on a real local Starknet (starknet-devnet), beside starknet-py's bare invoke.

One decision at a time, through the service's own code on a scratch SQLite database: the proof is
verified on chain first (local registrar: STARK check + fact registration), then timed:

- sign + store + send: execution_start (chain id, nonce, fee estimate = dry run, signature, send);
- to receipt: execution_wait until the receipt says succeeded;
- to confirmed: one indexer round (chain_events_index) that reads AllocationExecuted and confirms.

The reference is what a plain client does for a transaction of the same size: starknet-py's
``execute_v3(auto_estimate=True)`` + ``wait_for_tx`` of the same RiskEngine's ``approve_model``.
devnet mines each transaction at once, so these are our overheads, not a network's block time.

    .venv/bin/python bench/execution.py [--runs 20]
"""

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SCRATCH = tempfile.mkdtemp(prefix="obsqra-bench-")
os.environ |= {
    "DATABASE_URL": f"sqlite:///{SCRATCH}/bench.sqlite3",
    "CHAIN_ENV_FILE": "/dev/null",
    "SECRET_KEY": "bench-only",
    "DJANGO_SETTINGS_MODULE": "obsqra.settings",
    "LOG_LEVEL": "WARNING",
}

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from starknet_py.net.full_node_client import FullNodeClient  # noqa: E402

from allocations import deployment, execution, risk, services  # noqa: E402
from allocations.models import AllocationDecision, Execution  # noqa: E402
from proofs import submission  # noqa: E402
from proofs.models import ProofJob  # noqa: E402
from proofs.services import decision_orchestrate  # noqa: E402
from registry.models import ModelVersion  # noqa: E402
from tests.devnet import CHAIN_ID, running_devnet  # noqa: E402

JEDISWAP = risk.ProtocolMetrics(utilization=6500, volatility=3500, liquidity=1, audit_score=98, age_days=800)
EKUBO = risk.ProtocolMetrics(utilization=5000, volatility=2500, liquidity=2, audit_score=95, age_days=600)


def point_at(devnet, deployed) -> None:
    """The settings chain_deploy writes on devnet, for this process."""
    owner, executor = devnet.accounts[:2]
    settings.STARKNET_RPC_URLS = [devnet.url]
    settings.RISK_ENGINE_ADDRESS = hex(deployed.risk_engine)
    settings.INTEGRITY_FACT_REGISTRY_ADDRESS = hex(deployed.fact_registry)
    settings.INTEGRITY_VERIFIER_CONFIGS = [str(c) for c in services.contracts_verifier_configs(local_fact_registry=True)]
    settings.PROVER_SERVICE = "local"
    settings.STARKNET_OWNER_ADDRESS, settings.STARKNET_ACCOUNT_ADDRESS = hex(owner.address), hex(executor.address)
    os.environ["STARKNET_OWNER_PRIVATE_KEY"] = hex(owner.private_key)
    os.environ["STARKNET_ACCOUNT_PRIVATE_KEY"] = hex(executor.private_key)
    settings.EXECUTION_POLL_SECONDS = 0.02


def verified_decision(apy: int) -> AllocationDecision:
    """A new decision (its own statement: the APY differs) whose proof the local registrar verified."""
    inputs = services.decision_inputs_resolve(
        jediswap=JEDISWAP, ekubo=EKUBO, apys=risk.Apys(jediswap=apy, ekubo=1210), model_version="2.0.0"
    )
    decision = decision_orchestrate(inputs=inputs)
    job_id = decision.proof_job_id
    submission.submit_to_prover_service(job_id)
    while ProofJob.objects.get(pk=job_id).status != ProofJob.Status.VERIFIED:
        submission.poll_verification(job_id)
    return decision


def bench_ours(runs: int) -> dict[str, list[float]]:
    figures = {"sign + store + send": [], "to receipt": [], "to confirmed": []}
    for run in range(runs):
        decision = verified_decision(apy=800 + run)
        started = time.perf_counter()
        sent = execution.execution_start(decision_id=decision.pk)
        figures["sign + store + send"].append(time.perf_counter() - started)
        settled = execution.execution_wait(sent.pk, seconds=30)
        assert settled.status == Execution.Status.SUCCEEDED, settled.error
        figures["to receipt"].append(time.perf_counter() - started)
        services.chain_events_index(contract_address=int(settings.RISK_ENGINE_ADDRESS, 16))
        assert AllocationDecision.objects.get(pk=decision.pk).status == AllocationDecision.Status.CONFIRMED
        figures["to confirmed"].append(time.perf_counter() - started)
    return figures


def bench_starknet_py(devnet, runs: int) -> list[float]:
    owner = devnet.accounts[0].bind(FullNodeClient(node_url=devnet.url), CHAIN_ID)
    engine = int(settings.RISK_ENGINE_ADDRESS, 16)

    async def invoke(model_hash: int) -> None:
        sent = await owner.execute_v3(calls=[deployment.call(engine, "approve_model", [model_hash])], auto_estimate=True)
        await owner.client.wait_for_tx(sent.transaction_hash, check_interval=0.02)

    samples = []
    for run in range(runs):
        started = time.perf_counter()
        asyncio.run(invoke(0xB0 + run))
        samples.append(time.perf_counter() - started)
    return samples


def line(name: str, samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    return f"{name:50} median {statistics.median(ms):7.1f} ms   p90 {ms[int(len(ms) * 0.9)]:7.1f} ms   ({len(ms)} runs)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    with running_devnet() as devnet:
        owner, executor = devnet.accounts[:2]
        settings.EXECUTION_POLL_SECONDS = 0.02
        deployed = services.contracts_deploy(owner, executor=executor.address, rpc_url=devnet.url, local_fact_registry=True)
        point_at(devnet, deployed)
        upstream = ModelVersion.objects.get(version="2.0.0")  # the published inputs pass its policy
        asyncio.run(
            deployment.invoke_all(
                owner.bind(FullNodeClient(node_url=devnet.url), CHAIN_ID),
                [deployment.call(deployed.risk_engine, "approve_model", [int(upstream.model_hash, 16)])],
                poll_seconds=0.02,
            )
        )
        ours = bench_ours(args.runs)
        reference = bench_starknet_py(devnet, args.runs)
    print(f"starknet-devnet, one decision at a time, {args.runs} runs")
    for name, samples in ours.items():
        print(line(f"ours: {name}", samples))
    print(line("starknet-py execute_v3 + wait_for_tx (reference)", reference))


if __name__ == "__main__":
    main()
