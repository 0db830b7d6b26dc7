"""The on-chain fact check (proofs.integrity) against our local fact registry on starknet-devnet, and the
Stone parameters.

The registry answers Integrity's exact view interface and computes verification hashes itself, so a
registration here is what Atlantic's registration is on Sepolia. What devnet cannot do (fail, hang,
rate-limit, answer an error) a proxy in front of it does (tests/chain_proxy.py).
"""

import dataclasses
import math

import pytest
from starknet_py.net.client_errors import ClientError

from allocations import deployment
from proofs import integrity, stone
from tests.chain_proxy import DROP, HANG, rpc_error, status
from tests.fakes.servers import ATLANTIC_VERIFIER_CONFIG, dead_url

FACT = 0x1234ABCD
CONFIG = ATLANTIC_VERIFIER_CONFIG


def test_verification_hash_matches_an_independent_poseidon():
    from starkware.cairo.common.poseidon_hash import poseidon_hash_many

    names = ("recursive_with_poseidon", "keccak_160_lsb", "stone6", "relaxed")
    short = [int.from_bytes(s.encode(), "big") for s in names]
    expected = poseidon_hash_many([FACT, poseidon_hash_many(short), 96])
    assert integrity.verification_hash(FACT, CONFIG, 96) == expected


def test_decodes_the_serialized_array():
    felts = [2, 11, 96, *CONFIG.felts(), 12, 80, *CONFIG.felts()]
    found = integrity.decode_verifications(felts)
    assert [(v.verification_hash, v.security_bits, v.config) for v in found] == [(11, 96, CONFIG), (12, 80, CONFIG)]


@pytest.mark.parametrize("felts", [[], [1, 5, 96], [2, 1, 96, 0, 0, 0, 0], [1, 5, 2**32, 0, 0, 0, 0]])
def test_malformed_arrays_are_refused(felts):
    with pytest.raises(integrity.MalformedAnswer):
        integrity.decode_verifications(felts)


def test_verifier_configs_are_parsed_from_their_setting_spelling():
    assert integrity.VerifierConfig.parse("recursive_with_poseidon:keccak_160_lsb:stone6:relaxed") == CONFIG
    assert str(CONFIG) == "recursive_with_poseidon:keccak_160_lsb:stone6:relaxed"
    for bad in ("recursive:keccak_160_lsb:stone6", "recursive::stone6:relaxed", "a:b:c:d:e"):
        with pytest.raises(ValueError, match="layout:hasher:stone_version:memory_verification"):
            integrity.VerifierConfig.parse(bad)


# ---------------------------------------------------------------------------------------------
# Reading the registry on devnet
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def registry(onchain):
    """The local fact registry; ``register(fact, bits, config, ...)`` registers each in one transaction."""

    class Registry:
        address = onchain.deployed.fact_registry

        def register(self, fact, *registrations):
            onchain.invoke(
                *(
                    deployment.register_fact_call(self.address, fact, config=config, security_bits=bits)
                    for bits, config in registrations
                )
            )

        def check(self, fact, urls=None, *, min_bits=96, configs=(CONFIG,), timeout=2, address=None):
            return integrity.check_fact(
                fact,
                rpc_urls=urls or [onchain.devnet.url],
                registry=self.address if address is None else address,
                min_security_bits=min_bits,
                accepted_configs=configs,
                timeout=timeout,
            )

    return Registry()


def block_number(devnet) -> int:
    return devnet.rpc("starknet_blockNumber")


@pytest.mark.django_db
def test_a_registered_fact_with_enough_bits_is_verified_at_the_nodes_block(registry, devnet):
    registry.register(FACT, (96, CONFIG))
    result = registry.check(FACT)
    assert result.verified and result.accepted.security_bits == 96
    assert (result.block_number, result.node_url) == (block_number(devnet), devnet.url)


@pytest.mark.django_db
def test_our_verification_hash_is_the_one_the_registry_computes_and_stores(registry, onchain):
    stone5 = dataclasses.replace(CONFIG, stone_version="stone5")
    registry.register(FACT, (96, CONFIG), (128, stone5))
    felts = onchain.view(registry.address, "get_all_verifications_for_fact_hash", [FACT])
    stored = integrity.decode_verifications(felts)
    assert [v.verification_hash for v in stored] == [
        integrity.verification_hash(FACT, CONFIG, 96), integrity.verification_hash(FACT, stone5, 128)
    ]  # fmt: skip
    # And the registry files it under that hash: Option::Some(Verification { fact, bits, config }).
    by_hash = onchain.view(registry.address, "get_verification", [integrity.verification_hash(FACT, stone5, 128)])
    assert by_hash == [0, FACT, 128, *stone5.felts()]


@pytest.mark.django_db
def test_an_unknown_fact_is_not_verified(registry):
    registry.register(FACT + 1, (128, CONFIG))
    result = registry.check(FACT)
    assert not result.verified and result.verifications == []


@pytest.mark.django_db
@pytest.mark.parametrize("bits", [80, 95])
def test_too_few_security_bits_are_rejected_with_the_reason(registry, bits):
    registry.register(FACT, (bits, CONFIG))
    result = registry.check(FACT)
    assert not result.verified
    assert [why for _, why in result.rejected] == [f"{bits} security bits < 96"]


OTHER_CONFIGS = [
    dataclasses.replace(CONFIG, **{field: value})
    for field, value in [
        ("layout", "recursive"),
        ("layout", "dynamic"),
        ("hasher", "keccak_248_lsb"),
        ("hasher", "blake2s_160_lsb"),
        ("stone_version", "stone5"),
        ("memory_verification", "strict"),
        ("memory_verification", "cairo1"),
    ]
]


@pytest.mark.django_db
def test_a_verification_under_another_verifier_config_is_refused(registry):
    """Each configuration differs from ours in one field; all are registered for our fact, with plenty of bits."""
    registry.register(FACT, *((128, other) for other in OTHER_CONFIGS))
    result = registry.check(FACT)
    assert not result.verified
    assert [why for _, why in result.rejected] == [f"verifier config {o} is not one we accept" for o in OTHER_CONFIGS]


@pytest.mark.django_db
def test_the_accepted_configs_are_a_setting(registry):
    stone5 = dataclasses.replace(CONFIG, stone_version="stone5")
    registry.register(FACT, (96, stone5))
    assert registry.check(FACT, configs=(CONFIG, stone5)).accepted.config == stone5


@pytest.mark.django_db
def test_a_verification_hash_that_does_not_recompute_is_rejected(registry, onchain):
    """The registry computes the hash itself, so only a lying node answers this: the registry's real
    answer with the hash changed by one."""
    registry.register(FACT, (128, CONFIG))
    felts = onchain.view(registry.address, "get_all_verifications_for_fact_hash", [FACT])
    felts[1] += 1
    accepted, rejected = integrity.judge(FACT, integrity.decode_verifications(felts), 96, [CONFIG])
    assert accepted is None and [why for _, why in rejected] == [
        "verification hash does not match fact, config and security bits"
    ]


@pytest.mark.django_db
def test_the_strong_verification_is_accepted_beside_a_weak_one(registry):
    registry.register(FACT, (60, CONFIG), (100, CONFIG))
    result = registry.check(FACT)
    assert result.accepted.security_bits == 100 and len(result.rejected) == 1


@pytest.mark.django_db
def test_a_verification_registered_twice_is_listed_once(registry):
    registry.register(FACT, (96, CONFIG))
    registry.register(FACT, (96, CONFIG))
    assert len(registry.check(FACT).verifications) == 1


# ---------------------------------------------------------------------------------------------
# Nodes that fail: failover, and only for network trouble
# ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fault,method",
    [
        (status(503), None),
        (status(500), "starknet_call"),  # the block number was read: the whole read moves on
        (status(429, retry_after=1), None),
        (HANG, "starknet_blockNumber"),
        (DROP, "starknet_call"),
    ],
    ids=["503", "500-mid-read", "429", "hang", "dropped"],
)
def test_fails_over_to_the_next_node_on_network_trouble(registry, devnet, chain_proxy, fault, method):
    registry.register(FACT, (96, CONFIG))
    chain_proxy.fail(fault, method=method, times=None)
    result = registry.check(FACT, [dead_url(), chain_proxy.url, devnet.url], timeout=1)
    assert result.verified and result.node_url == devnet.url


@pytest.mark.django_db
def test_no_node_answering_is_chain_unavailable_naming_each_node(registry, chain_proxies):
    first, second = chain_proxies().fail(status(503), times=None), chain_proxies().fail(DROP, times=None)
    dead = dead_url()
    with pytest.raises(integrity.ChainUnavailable) as failure:
        registry.check(FACT, [first.url, second.url, dead])
    message = str(failure.value)
    assert [name in message for name in (first.url, second.url, dead)] == [True] * 3
    assert "503" in message and "Disconnected" in message and "Connect" in message


@pytest.mark.django_db
def test_a_registry_address_with_no_contract_is_an_answer_not_failed_over(registry, devnet, chain_proxy):
    """Devnet answers "contract not found" for it; asking another node would hide a wrong address."""
    with pytest.raises(ClientError, match="Contract not found"):
        registry.check(FACT, [devnet.url, chain_proxy.url], address=0x999)
    assert chain_proxy.requests == []


@pytest.mark.django_db
def test_a_registry_address_that_is_another_contract_is_refused(registry, onchain):
    with pytest.raises(ClientError):
        registry.check(FACT, address=onchain.deployed.risk_engine)


@pytest.mark.django_db
def test_a_json_rpc_error_from_a_node_is_not_failed_over(registry, devnet, chain_proxy):
    """The smallest lie: the first node answers CONTRACT_NOT_FOUND for the real registry. Failing over would
    verify the fact on the second node; the answer stands instead."""
    registry.register(FACT, (96, CONFIG))
    chain_proxy.fail(rpc_error("CONTRACT_NOT_FOUND"), method="starknet_call")
    with pytest.raises(ClientError, match="Contract not found"):
        registry.check(FACT, [chain_proxy.url, devnet.url])


@pytest.mark.django_db
def test_node_urls_are_reported_without_their_api_key(registry, chain_proxy):
    registry.register(FACT, (96, CONFIG))
    assert registry.check(FACT, [f"{chain_proxy.url}/rpc/v0_8/sekret-key-1"]).node_url == chain_proxy.url
    with pytest.raises(integrity.ChainUnavailable) as failure:
        registry.check(FACT, [f"{dead_url()}/v2/sekret-key-2?apikey=sekret-key-3"])
    assert "sekret" not in str(failure.value)


# ---------------------------------------------------------------------------------------------
# Stone: FRI parameters and the parameter file
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("log_steps", range(4, 27))
def test_fri_parameters_satisfy_the_degree_rule(log_steps):
    fri = stone.fri_parameters(2**log_steps)
    steps = fri["fri_step_list"]
    assert math.log2(fri["last_layer_degree_bound"]) + sum(steps) == log_steps + 4
    assert steps[0] == 0 and all(2 <= s <= 4 for s in steps[1:])


def test_fri_parameters_refuse_a_trace_that_is_not_a_power_of_two():
    with pytest.raises(ValueError):
        stone.fri_parameters(3000)


def test_parameter_file_is_integrity_shaped_with_96_security_bits():
    params = stone.parameter_file(2**14)
    assert params["stark"]["fri"]["fri_step_list"] == [0, 4, 4, 3]
    assert params["commitment_hash"] == "keccak256_masked160_lsb" and params["channel_hash"] == "poseidon3"
    fri = params["stark"]["fri"]
    assert fri["n_queries"] * params["stark"]["log_n_cosets"] + fri["proof_of_work_bits"] == stone.security_bits() >= 96


@pytest.mark.skipif(not stone.available(), reason="cpu_air_prover is not on PATH")
def test_stone_proves_the_decision():  # pragma: no cover - needs the external binary
    v1 = [35, 10000, 0, 30, 10000, 0, 15, 10, 5, 0, 1, 5, 0, 1000, 1, 100, 99, 5, 95]
    proof = stone.stone_prove(v1, [6500, 3500, 1, 98, 800], [5000, 2500, 2, 95, 600], (850, 1210), [6000, 2, 10000, 3])
    assert "public_input" in proof
