"""Our Cairo contracts on a Starknet chain: the compiled classes declared and deployed with starknet-py.

No Django here. Calls are built from raw calldata (structs are their members' felts in declaration
order), not through starknet-py's ``Contract``, whose ABI parser takes seconds per contract. ``scripts/build-contracts`` writes the classes to build/contracts/ (Sierra, which the
chain stores, and CASM, whose hash the declare transaction commits to).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from collections.abc import Sequence
from pathlib import Path

from starknet_py.common import create_casm_class, create_sierra_compiled_contract
from starknet_py.contract import Contract
from starknet_py.hash.casm_class_hash import compute_casm_class_hash
from starknet_py.hash.hash_method import HashMethod
from starknet_py.hash.selector import get_selector_from_name
from starknet_py.hash.sierra_class_hash import compute_sierra_class_hash
from starknet_py.net.account.base_account import BaseAccount
from starknet_py.net.client_errors import ClientError
from starknet_py.net.client_models import Call
from starknet_py.net.udc_deployer.deployer import Deployer

from proofs.integrity import VerifierConfig

from . import risk

CLASS_HASH_NOT_FOUND = 28  # starknet-specs v0.10.2 starknet_api_openrpc.json

ARTIFACTS = Path(__file__).resolve().parent.parent / "build" / "contracts"
CONTRACTS = ("LocalEkuboCore", "LocalFactRegistry", "LocalJediSwapPair", "RiskEngine")


class ArtifactsMissing(Exception):
    """build/contracts/ lacks a class: run scripts/build-contracts."""


def artifacts(name: str) -> tuple[str, str]:
    """The contract's Sierra class and CASM, as the JSON texts the compilers wrote."""
    sierra, casm = ARTIFACTS / f"{name}.contract_class.json", ARTIFACTS / f"{name}.compiled_contract_class.json"
    if not (sierra.is_file() and casm.is_file()):
        raise ArtifactsMissing(f"no compiled {name} in {ARTIFACTS}: run scripts/build-contracts")
    return sierra.read_text(), casm.read_text()


def compiled_class_hash(casm: str) -> int:
    """The CASM's class hash as Starknet >= 0.14.1 (and devnet) computes it, with Blake2s.

    The hash covers entry points and bytecode, never hints; they are dropped before starknet-py reads
    the class, because its schema refuses the negative immediates Sierra compiler 2.19.4 writes there.
    """
    compiled = json.loads(casm)
    compiled["hints"] = []
    return compute_casm_class_hash(create_casm_class(json.dumps(compiled)), hash_method=HashMethod.BLAKE2S)


@functools.cache
def class_hash(name: str) -> int:
    return compute_sierra_class_hash(create_sierra_compiled_contract(artifacts(name)[0]))


async def declare(account: BaseAccount, name: str, *, poll_seconds: float = 2) -> int:
    """Declares the class unless the chain has it already (a second declare is refused); returns its hash."""
    existing = class_hash(name)
    try:
        await account.client.get_class_by_hash(existing)
        return existing
    except ClientError as exc:
        if str(exc.code) != str(CLASS_HASH_NOT_FOUND):
            raise
    sierra, casm = artifacts(name)
    declared = await Contract.declare_v3(
        account, sierra, compiled_class_hash=compiled_class_hash(casm), auto_estimate=True
    )
    await declared.wait_for_acceptance(check_interval=poll_seconds)
    return declared.class_hash


def call(address: int, function: str, calldata: Sequence[int] = ()) -> Call:
    return Call(to_addr=address, selector=get_selector_from_name(function), calldata=list(calldata))


async def invoke_all(account: BaseAccount, calls: Sequence[Call], *, poll_seconds: float = 2) -> int:
    """All the calls in one transaction of the account; its hash once the chain accepted it."""
    sent = await account.execute_v3(calls=list(calls), auto_estimate=True)
    await account.client.wait_for_tx(sent.transaction_hash, check_interval=poll_seconds)
    return sent.transaction_hash


def deploy_call(account: BaseAccount, class_hash_: int, constructor: Sequence[int]) -> tuple[Call, int]:
    """A call to the Universal Deployer and the address the contract will have."""
    deployment = Deployer(account_address=account.address).create_contract_deployment_raw(
        class_hash_, raw_calldata=list(constructor)
    )
    return deployment.call, deployment.address


def engine_setup_calls(
    engine: int,
    *,
    verifier_configs: Sequence[VerifierConfig] = (),
    model_hashes: Sequence[int] = (),
    policy: risk.PolicyTerms | None = None,
) -> list[Call]:
    """The owner's calls that accept verifier configurations, approve models and set the policy."""
    calls = [call(engine, "accept_verifier_config", c.felts()) for c in verifier_configs]
    calls += [call(engine, "approve_model", [model_hash]) for model_hash in model_hashes]
    if policy is not None:
        calls.append(call(engine, "set_policy", policy.to_elements()))
    return calls


@dataclasses.dataclass(frozen=True)
class Deployment:
    fact_registry: int
    risk_engine: int
    transaction_hash: int

    def settings(self) -> dict[str, str]:
        """The environment variables that point the application at these contracts."""
        return {
            "INTEGRITY_FACT_REGISTRY_ADDRESS": hex(self.fact_registry),
            "RISK_ENGINE_ADDRESS": hex(self.risk_engine),
        }


async def deploy_contracts(
    account: BaseAccount,
    *,
    executor: int,
    statement_program_hash: int,
    min_security_bits: int,
    verifier_configs: Sequence[VerifierConfig],
    model_hashes: Sequence[int],
    policy: risk.PolicyTerms,
    fact_registry: int | None = None,
    poll_seconds: float = 2,
) -> Deployment:
    """A RiskEngine owned by ``account`` and executed by ``executor``, configured, in one transaction; with
    ``fact_registry`` None (a local chain) the local stand-in registry, owned by ``account``, is deployed in
    the same transaction and the engine reads it."""
    calls = []
    if fact_registry is None:
        registry_class = await declare(account, "LocalFactRegistry", poll_seconds=poll_seconds)
        deploy_registry, fact_registry = deploy_call(account, registry_class, [account.address])
        calls.append(deploy_registry)
    engine_class = await declare(account, "RiskEngine", poll_seconds=poll_seconds)
    deploy_engine, engine = deploy_call(
        account, engine_class, [account.address, executor, fact_registry, statement_program_hash, min_security_bits]
    )
    calls.append(deploy_engine)
    calls += engine_setup_calls(engine, verifier_configs=verifier_configs, model_hashes=model_hashes, policy=policy)
    tx_hash = await invoke_all(account, calls, poll_seconds=poll_seconds)
    return Deployment(fact_registry=fact_registry, risk_engine=engine, transaction_hash=tx_hash)


def register_fact_call(registry: int, fact_hash: int, *, config: VerifierConfig, security_bits: int) -> Call:
    """The local registry's owner registers a verification, as Integrity's verifier would after a proof."""
    return call(registry, "register_fact", [*config.felts(), fact_hash, security_bits])


# The local stand-ins of the pools the metrics reader reads (allocations/contracts/src/local_pools.cairo),
# for tests and the demo on a local chain; elsewhere the settings point at JediSwap's and Ekubo's own.

Q128 = 2**128
EKUBO_TICK_BASE = 1.000001  # Ekubo's sqrt_ratio at tick t is sqrt(1.000001)**t * 2**128 (src/math/ticks.cairo)
STRK_ETH_POOL_KEY = (  # token0 < token1, as Ekubo orders them: STRK, ETH (devnet predeploys both)
    0x04718F5A0FC34CC1AF16A1CDEE98FFB20C31F5CD61D6AB07201858F4287C938D,
    0x049D36570D4E46F48E99674BD3FCC84644DDD6B96F7C741B1562B82F9E004DC7,
    Q128 // 2000,  # fee 0.05 % as a 0.128 fixed-point number
    1000,  # tick spacing
    0,  # no extension
)


def _u256(value: int) -> list[int]:
    return [value % Q128, value // Q128]


def ekubo_pool_price(sqrt_ratio: int) -> list[int]:
    """PoolPrice {sqrt_ratio: u256, tick: i129 {mag, sign}} as felts, the tick the greatest below the price."""
    tick = math.floor(2 * (math.log(sqrt_ratio) - math.log(Q128)) / math.log(EKUBO_TICK_BASE))
    return [*_u256(sqrt_ratio), abs(tick), int(tick < 0)]


@dataclasses.dataclass(frozen=True)
class LocalPools:
    jediswap_pair: int
    ekubo_core: int
    ekubo_pool_key: tuple[int, ...]  # token0, token1, fee, tick_spacing, extension
    transaction_hash: int

    def settings(self) -> dict[str, str]:
        """The environment variables that point the metrics reader at these pools."""
        return {
            "JEDISWAP_POOL_ADDRESS": hex(self.jediswap_pair),
            "EKUBO_CORE_ADDRESS": hex(self.ekubo_core),
            "EKUBO_POOL_KEY": ",".join(hex(felt) for felt in self.ekubo_pool_key),
        }

    def set_reserves_call(self, reserve0: int, reserve1: int) -> Call:
        """The pair's new reserves, as a swap or a sync leaves them; stamped with the block's time."""
        return call(self.jediswap_pair, "set_reserves", [*_u256(reserve0), *_u256(reserve1)])

    def set_pool_call(self, sqrt_ratio: int, liquidity: int, *, pool_key: Sequence[int] | None = None) -> Call:
        """The Ekubo pool's Q128 square-root price and active liquidity (the configured pool by default)."""
        key = list(self.ekubo_pool_key if pool_key is None else pool_key)
        return call(self.ekubo_core, "set_pool", [*key, *ekubo_pool_price(sqrt_ratio), liquidity])


async def deploy_local_pools(
    account: BaseAccount,
    *,
    pool_key: Sequence[int] = STRK_ETH_POOL_KEY,
    reserves: tuple[int, int] | None = None,
    pool: tuple[int, int] | None = None,
    poll_seconds: float = 2,
) -> LocalPools:
    """A local JediSwap pair and Ekubo core owned by ``account``, in one transaction, with the pair's
    ``reserves`` (reserve0, reserve1) and the pool's (sqrt_ratio, liquidity) set in it when given."""
    pair_class = await declare(account, "LocalJediSwapPair", poll_seconds=poll_seconds)
    core_class = await declare(account, "LocalEkuboCore", poll_seconds=poll_seconds)
    deploy_pair, pair = deploy_call(account, pair_class, [account.address])
    deploy_core, core = deploy_call(account, core_class, [account.address])
    pools = LocalPools(jediswap_pair=pair, ekubo_core=core, ekubo_pool_key=tuple(pool_key), transaction_hash=0)
    calls = [deploy_pair, deploy_core]
    if reserves is not None:
        calls.append(pools.set_reserves_call(*reserves))
    if pool is not None:
        calls.append(pools.set_pool_call(*pool))
    tx_hash = await invoke_all(account, calls, poll_seconds=poll_seconds)
    return dataclasses.replace(pools, transaction_hash=tx_hash)
