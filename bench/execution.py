"""What executing one decision costs on our side, against the test suite's fake Starknet node on
127.0.0.1 (which checks the ECDSA signature and nonces as a node does): signing (chain id, class, nonce,
fee estimate with its own query signature, SNIP-12 policy signature, transaction signature) and
sending + one status look + the receipt. Chain latency (block time) is not in these figures.

    .venv/bin/python bench/execution.py [--runs 50]
"""

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from starknet_py.net.full_node_client import FullNodeClient  # noqa: E402
from starknet_py.net.signer.key_pair import KeyPair  # noqa: E402

from allocations import risk, risk_engine  # noqa: E402
from tests.fakes.servers import FakeStarknetNode  # noqa: E402

PRIVATE_KEY = 0x1234_5678_9ABC_DEF0_1234_5678_9ABC_DEF0
ACCOUNT, ENGINE, FACT = 0xACC, 0xE46, 0xFAC7
METRICS = risk.ProtocolMetrics(utilization=500, volatility=2000, liquidity=2, audit_score=85, age_days=365)
POLICY = risk.PolicyTerms(max_single=6000, min_diversification=2, max_volatility=10000, min_liquidity=3)


async def run(runs: int) -> tuple[list[float], list[float]]:
    node = FakeStarknetNode()
    node.add_account(ACCOUNT, KeyPair.from_private_key(PRIVATE_KEY).public_key)
    node.risk_engine = ENGINE
    node.register(FACT)
    account = risk_engine.OperatorAccount(ACCOUNT, PRIVATE_KEY)
    call = risk_engine.AllocationCall(
        risk_engine=ENGINE, jediswap=METRICS, ekubo=METRICS, proof_fact=FACT, jediswap_score=33, ekubo_score=33,
        fact_registry=node.registry, model_hash=0, policy=POLICY,
    )  # fmt: skip
    signing, landing = [], []
    try:
        async with aiohttp.ClientSession() as session:
            client = FullNodeClient(node_url=node.url, session=session)
            for _ in range(runs):
                started = time.perf_counter()
                signed = await risk_engine.sign_execution(client, account, call)
                signing.append(time.perf_counter() - started)
                started = time.perf_counter()
                await risk_engine.send_execution(client, signed.transaction, signed.tx_hash)
                progress = await risk_engine.read_progress(client, tx_hash=signed.tx_hash, sender=ACCOUNT)
                landing.append(time.perf_counter() - started)
                assert progress.state == "succeeded", progress
    finally:
        node.stop()
    return signing, landing


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    signing, landing = asyncio.run(run(args.runs))
    for name, samples in (("sign (4 RPC calls, 3 ECDSA signatures)", signing), ("send + status + receipt", landing)):
        ms = sorted(s * 1000 for s in samples)
        print(f"{name:36} median {statistics.median(ms):6.1f} ms   p90 {ms[int(len(ms) * 0.9)]:6.1f} ms   ({len(ms)} runs)")


if __name__ == "__main__":
    main()
