"""Our Cairo contracts on a Starknet chain: the compiled classes declared and deployed with starknet-py.

No Django here. ``scripts/build-contracts`` writes the classes to build/contracts/ (Sierra, which the
chain stores, and CASM, whose hash the declare transaction commits to).
"""

from __future__ import annotations

import json
from pathlib import Path

from starknet_py.common import create_casm_class
from starknet_py.contract import Contract
from starknet_py.hash.casm_class_hash import compute_casm_class_hash
from starknet_py.hash.hash_method import HashMethod
from starknet_py.net.account.base_account import BaseAccount

ARTIFACTS = Path(__file__).resolve().parent.parent / "build" / "contracts"
CONTRACTS = ("LocalFactRegistry", "RiskEngine")


class ArtifactsMissing(Exception):
    """build/contracts/ lacks a class: run scripts/build-contracts."""


def artifacts(name: str) -> tuple[str, str]:
    """The contract's Sierra class and CASM, as the JSON texts the compilers wrote."""
    sierra, casm = ARTIFACTS / f"{name}.contract_class.json", ARTIFACTS / f"{name}.compiled_contract_class.json"
    if not (sierra.is_file() and casm.is_file()):
        raise ArtifactsMissing(f"no compiled {name} in {ARTIFACTS}: run scripts/build-contracts")
    return sierra.read_text(), casm.read_text()


def abi(name: str) -> list:
    return json.loads(artifacts(name)[0])["abi"]


def compiled_class_hash(casm: str) -> int:
    """The CASM's class hash as Starknet >= 0.14.1 (and devnet) computes it, with Blake2s.

    The hash covers entry points and bytecode, never hints; they are dropped before starknet-py reads
    the class, because its schema refuses the negative immediates Sierra compiler 2.19.4 writes there.
    """
    compiled = json.loads(casm)
    compiled["hints"] = []
    return compute_casm_class_hash(create_casm_class(json.dumps(compiled)), hash_method=HashMethod.BLAKE2S)


async def declare(account: BaseAccount, name: str, *, poll_seconds: float = 2) -> int:
    """Declares the class (once per chain: an already declared class is refused) and returns its hash."""
    sierra, casm = artifacts(name)
    declared = await Contract.declare_v3(
        account, sierra, compiled_class_hash=compiled_class_hash(casm), auto_estimate=True
    )
    await declared.wait_for_acceptance(check_interval=poll_seconds)
    return declared.class_hash


async def deploy(
    account: BaseAccount, name: str, class_hash: int, constructor_args: dict, *, poll_seconds: float = 2
) -> Contract:
    deployed = await Contract.deploy_contract_v3(
        account, class_hash, abi(name), constructor_args, auto_estimate=True
    )
    await deployed.wait_for_acceptance(check_interval=poll_seconds)
    return deployed.deployed_contract
