"""The on-chain check of a fact: Herodotus Integrity's FactRegistry on Starknet, read with starknet-py.

No Django here. A fact counts as verified only when the registry holds a verification of exactly
that fact whose security bits meet our bar, whose verifier configuration (layout, hasher, Stone
version, memory verification) is one we accept, and whose verification hash we can recompute from
the fact, the configuration and the bits. Anyone can register a fact under any settings, so
"registered" alone proves nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from starknet_py.cairo.felt import decode_shortstring, encode_shortstring
from starknet_py.hash.hash_method import HashMethod
from starknet_py.hash.selector import get_selector_from_name
from starknet_py.net.client_models import Call
from starknet_py.net.full_node_client import FullNodeClient

from allocations.chain import ChainUnavailable, read_with_failover  # noqa: F401 (ChainUnavailable: part of this API)
from allocations.risk import felt_hex

SEPOLIA_FACT_REGISTRY = 0x4CE7851F00B6C3289674841FD7A1B96B6FD41ED1EDC248FACCD672C26371B8C
GET_ALL_VERIFICATIONS = get_selector_from_name("get_all_verifications_for_fact_hash")
# One verification on the wire: verification_hash, security_bits, then VerifierConfiguration's 4 felts.
VERIFICATION_FELTS = 6
CONFIG_FIELDS = ("layout", "hasher", "stone_version", "memory_verification")


class MalformedAnswer(Exception):
    """A node answered something that is not a serialized Array<(felt, u32, VerifierConfiguration)>."""


@dataclasses.dataclass(frozen=True)
class VerifierConfig:
    layout: str
    hasher: str
    stone_version: str
    memory_verification: str

    @classmethod
    def parse(cls, text: str) -> VerifierConfig:
        """``layout:hasher:stone_version:memory_verification``, as the settings spell one."""
        parts = text.strip().split(":")
        if len(parts) != len(CONFIG_FIELDS) or not all(parts):
            raise ValueError(f"verifier config {text!r} is not layout:hasher:stone_version:memory_verification")
        return cls(*parts)

    def __str__(self) -> str:
        return ":".join(getattr(self, name) for name in CONFIG_FIELDS)

    def felts(self) -> list[int]:
        return [encode_shortstring(getattr(self, name)) for name in CONFIG_FIELDS]

    def config_hash(self) -> int:
        return HashMethod.POSEIDON.hash_many(self.felts())


# What a local chain's registrar (proofs/local_registrar.py) registers under: a winterfell STARK with
# Blake3-256 commitments, checked by obsqra-stark. No real network's engine accepts it.
LOCAL_VERIFIER_CONFIG = VerifierConfig("winterfell", "blake3_256", "obsqra-stark", "local")


@dataclasses.dataclass(frozen=True)
class Verification:
    verification_hash: int
    security_bits: int
    config: VerifierConfig

    def expected_hash(self, fact_hash: int) -> int:
        return verification_hash(fact_hash, self.config, self.security_bits)

    def as_dict(self) -> dict:
        return {
            "verification_hash": felt_hex(self.verification_hash),
            "security_bits": self.security_bits,
            "verifier_config": dataclasses.asdict(self.config),
        }


@dataclasses.dataclass(frozen=True)
class FactCheck:
    fact_hash: int
    verifications: list[Verification]
    accepted: Verification | None
    rejected: list[tuple[Verification, str]]  # each found verification we did not accept, and why
    block_number: int
    node_url: str

    @property
    def verified(self) -> bool:
        return self.accepted is not None


def verification_hash(fact_hash: int, config: VerifierConfig, security_bits: int) -> int:
    """Integrity's verification hash: poseidon(fact, poseidon(layout, hasher, stone_version, memory), bits)."""
    return HashMethod.POSEIDON.hash_many([fact_hash, config.config_hash(), security_bits])


def decode_verifications(felts: Sequence[int]) -> list[Verification]:
    felts = list(felts)
    if not felts:
        raise MalformedAnswer("empty answer: expected an array length")
    count = felts[0]
    if len(felts) != 1 + count * VERIFICATION_FELTS:
        raise MalformedAnswer(
            f"array of {count} verifications needs {1 + count * VERIFICATION_FELTS} felts, got {len(felts)}"
        )
    verifications = []
    for i in range(count):
        vh, bits, *config = felts[1 + i * VERIFICATION_FELTS : 1 + (i + 1) * VERIFICATION_FELTS]
        if bits >= 2**32:
            raise MalformedAnswer(f"security_bits {bits} is not a u32")
        verifications.append(Verification(vh, bits, VerifierConfig(*(decode_shortstring(c) for c in config))))
    return verifications


def judge(
    fact_hash: int,
    verifications: list[Verification],
    min_security_bits: int,
    accepted_configs: Sequence[VerifierConfig],
):
    """The first acceptable verification, and each other one with the reason it does not count."""
    accepted, rejected = None, []
    for verification in verifications:
        if verification.security_bits < min_security_bits:
            rejected.append((verification, f"{verification.security_bits} security bits < {min_security_bits}"))
        elif verification.config not in accepted_configs:
            rejected.append((verification, f"verifier config {verification.config} is not one we accept"))
        elif verification.expected_hash(fact_hash) != verification.verification_hash:
            rejected.append((verification, "verification hash does not match fact, config and security bits"))
        elif accepted is None:
            accepted = verification
    return accepted, rejected


async def _read_verifications(client: FullNodeClient, registry: int, fact_hash: int) -> tuple[list[int], int]:
    block = await client.get_block_number()
    felts = await client.call_contract(
        Call(to_addr=registry, selector=GET_ALL_VERIFICATIONS, calldata=[fact_hash]), block_number=block
    )
    return felts, block


def check_fact(
    fact_hash: int,
    *,
    rpc_urls: Sequence[str],
    registry: int,
    min_security_bits: int,
    accepted_configs: Sequence[VerifierConfig],
    timeout: float,
) -> FactCheck:
    """Reads every verification of the fact at one block, trying the nodes in order on network errors."""
    (felts, block), node = read_with_failover(
        lambda client: _read_verifications(client, registry, fact_hash), rpc_urls=rpc_urls, timeout=timeout
    )
    verifications = decode_verifications(felts)
    accepted, rejected = judge(fact_hash, verifications, min_security_bits, accepted_configs)
    return FactCheck(fact_hash, verifications, accepted, rejected, block, node)
