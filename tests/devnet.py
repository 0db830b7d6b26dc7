"""starknet-devnet, a real local Starknet node, for the tests (a pytest plugin; conftest.py loads it).

One devnet process per test session on 127.0.0.1 (the port is the one the node picks and prints),
with a fixed seed, so the predeployed accounts are the same on every run, and the full state archive,
which ``devnet_abortBlocks`` (reorgs) needs. The ``devnet`` fixture restarts the chain from genesis
for each test. The binary comes from scripts/ensure-devnet (``make test`` builds it and passes its path
as STARKNET_DEVNET). Without it the devnet tests are skipped, except in CI (CI=true), where a missing
node fails them: CI must never go green by skipping the real chain.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import os
import re
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starknet_py.net.account.account import Account
from starknet_py.net.full_node_client import FullNodeClient

from allocations import deployment
from allocations.risk_engine import OperatorAccount
from proofs.integrity import VerifierConfig

DEVNET_VERSION = "0.10.1"
DEFAULT_BINARY = Path.home() / ".cache" / "obsqra" / f"starknet-devnet-{DEVNET_VERSION}" / "bin" / "starknet-devnet"
SEED = 20240229
ACCOUNTS = 3
STARTUP_SECONDS = 60
CHAIN_ID = 0x534E5F5345504F4C4941  # SN_SEPOLIA, devnet's default
# The fee token devnet predeploys, at the address it has on Sepolia and mainnet.
STRK = 0x04718F5A0FC34CC1AF16A1CDEE98FFB20C31F5CD61D6AB07201858F4287C938D
_LISTENING = re.compile(r"Starknet Devnet listening on \S+:(\d+)")


class DevnetError(Exception):
    """A devnet_* call answered a JSON-RPC error."""


class Devnet:
    def __init__(self, url: str):
        self.url = url

    def rpc(self, method: str, params: dict | None = None):
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or {}}
        answer = httpx.post(self.url, json=body, timeout=30).json()
        if "error" in answer:
            raise DevnetError(f"{method}: {answer['error']}")
        return answer["result"]

    @functools.cached_property
    def accounts(self) -> list[OperatorAccount]:
        """The predeployed accounts (funded with ETH and STRK), as our operator account type."""
        return [OperatorAccount.parse(a["address"], a["private_key"]) for a in self.rpc("devnet_getPredeployedAccounts")]

    def abort_blocks(self, starting_block_number: int) -> list[int]:
        """A reorg: drops this block and every later one; numbering goes on, so heights get new hashes."""
        result = self.rpc("devnet_abortBlocks", {"starting_block_id": {"block_number": starting_block_number}})
        return [int(block_hash, 16) for block_hash in result["aborted"]]

    def restart(self) -> None:
        self.rpc("devnet_restart")


def devnet_binary() -> Path:
    return Path(os.environ.get("STARKNET_DEVNET") or DEFAULT_BINARY)


def _start(binary: Path, log_path: Path, *options: str) -> tuple[subprocess.Popen, int]:
    with log_path.open("wb") as log:  # the child keeps its own descriptor
        process = subprocess.Popen(
            [binary, "--host", "127.0.0.1", "--port", "0", "--seed", str(SEED), "--accounts", str(ACCOUNTS),
             "--state-archive-capacity", "full", *options],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        found = _LISTENING.search(log_path.read_text(errors="replace"))
        if found:
            return process, int(found.group(1))
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    process.wait()
    raise RuntimeError(f"starknet-devnet did not start:\n{log_path.read_text(errors='replace')[-2000:]}")


@contextlib.contextmanager
def running_devnet(*options: str) -> Iterator[Devnet]:
    """A devnet process of its own, started with these extra command-line options (e.g.
    ``--block-generation-on demand``, ``--fork-network URL``), stopped on leaving."""
    binary = devnet_binary()
    if not os.access(binary, os.X_OK):
        message = f"no starknet-devnet at {binary}: run scripts/ensure-devnet (make test does)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    with tempfile.TemporaryDirectory(prefix="obsqra-devnet-") as tmp:
        process, port = _start(binary, Path(tmp) / "devnet.log", *options)
        try:
            yield Devnet(f"http://127.0.0.1:{port}")
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="session")
def devnet_node():
    with running_devnet() as node:
        yield node


@pytest.fixture
def devnet(devnet_node: Devnet) -> Devnet:
    """The session's devnet, back at genesis: same accounts and balances, no transactions."""
    devnet_node.restart()
    return devnet_node


@dataclasses.dataclass
class OnChain:
    """Our contracts deployed on the test's devnet by ``operator`` (devnet's first predeployed account),
    who owns the RiskEngine and registers facts in the local fact registry as Integrity would; ``executor``
    (the second) is the account the application signs executions with."""

    devnet: Devnet
    operator: OperatorAccount
    executor: OperatorAccount
    deployed: deployment.Deployment
    poll_seconds: float = 0.05
    # Fake services answer from their own threads: the owner's transactions go one at a time, each with its nonce.
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    @functools.cached_property
    def owner(self) -> Account:
        return self.operator.bind(FullNodeClient(node_url=self.devnet.url), CHAIN_ID)

    @functools.cached_property
    def executor_account(self) -> Account:
        return self.executor.bind(FullNodeClient(node_url=self.devnet.url), CHAIN_ID)

    def invoke(self, *calls, as_executor: bool = False) -> int:
        """The owner's (or the executor's) transaction of these calls, once accepted; its hash."""
        account = self.executor_account if as_executor else self.owner
        with self.lock:
            return asyncio.run(deployment.invoke_all(account, calls, poll_seconds=self.poll_seconds))

    def view(self, address: int, function: str, calldata=()) -> list[int]:
        return asyncio.run(self.owner.client.call_contract(deployment.call(address, function, calldata)))

    def register_fact(self, fact_hash: int, *, config: VerifierConfig, security_bits: int) -> int:
        registry = self.deployed.fact_registry
        return self.invoke(
            deployment.register_fact_call(registry, fact_hash, config=config, security_bits=security_bits)
        )
