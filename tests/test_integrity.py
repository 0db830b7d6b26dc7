"""The on-chain fact check (proofs.integrity) against a fake Starknet node, and the Stone parameters."""

import dataclasses
import math
import socket

import pytest
from starknet_py.net.client_errors import ClientError

from proofs import integrity, stone
from tests.fakes.servers import ATLANTIC_VERIFIER_CONFIG, FakeStarknetNode

FACT = 0x1234ABCD
CONFIG = ATLANTIC_VERIFIER_CONFIG


@pytest.fixture
def node():
    server = FakeStarknetNode()
    yield server
    server.stop()


def check(fact, urls, min_bits=96, configs=(CONFIG,)):
    return integrity.check_fact(
        fact,
        rpc_urls=urls,
        registry=integrity.SEPOLIA_FACT_REGISTRY,
        min_security_bits=min_bits,
        accepted_configs=configs,
        timeout=2,
    )


def dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


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


def test_a_registered_fact_with_enough_bits_is_verified_at_the_nodes_block(node):
    node.register(FACT, 96, CONFIG)
    result = check(FACT, [node.url])
    assert result.verified and result.accepted.security_bits == 96
    assert result.block_number == node.block and result.node_url == node.url


def test_an_unknown_fact_is_not_verified(node):
    node.register(FACT + 1, 128, CONFIG)
    result = check(FACT, [node.url])
    assert not result.verified and result.verifications == []


def test_too_few_security_bits_are_rejected_with_the_reason(node):
    node.register(FACT, 80, CONFIG)
    result = check(FACT, [node.url])
    assert not result.verified
    assert [why for _, why in result.rejected] == ["80 security bits < 96"]


def test_95_bits_are_one_too_few(node):
    node.register(FACT, 95, CONFIG)
    assert [why for _, why in check(FACT, [node.url]).rejected] == ["95 security bits < 96"]


@pytest.mark.parametrize(
    "field,value",
    [
        ("layout", "recursive"),
        ("layout", "dynamic"),
        ("hasher", "keccak_248_lsb"),
        ("hasher", "blake2s_160_lsb"),
        ("stone_version", "stone5"),
        ("memory_verification", "strict"),
        ("memory_verification", "cairo1"),
    ],
)
def test_a_verification_under_another_verifier_config_is_refused(node, field, value):
    other = dataclasses.replace(CONFIG, **{field: value})
    node.register(FACT, 128, other)
    result = check(FACT, [node.url])
    assert not result.verified
    assert [why for _, why in result.rejected] == [f"verifier config {other} is not one we accept"]


def test_the_accepted_configs_are_a_setting(node):
    stone5 = dataclasses.replace(CONFIG, stone_version="stone5")
    node.register(FACT, 96, stone5)
    assert check(FACT, [node.url], configs=(CONFIG, stone5)).accepted.config == stone5


def test_verifier_configs_are_parsed_from_their_setting_spelling():
    assert integrity.VerifierConfig.parse("recursive_with_poseidon:keccak_160_lsb:stone6:relaxed") == CONFIG
    assert str(CONFIG) == "recursive_with_poseidon:keccak_160_lsb:stone6:relaxed"
    for bad in ("recursive:keccak_160_lsb:stone6", "recursive::stone6:relaxed", "a:b:c:d:e"):
        with pytest.raises(ValueError, match="layout:hasher:stone_version:memory_verification"):
            integrity.VerifierConfig.parse(bad)


def test_a_verification_hash_that_does_not_recompute_is_rejected(node):
    node.register(FACT, 128, CONFIG, verification_hash=0xBAD)
    result = check(FACT, [node.url])
    assert not result.verified
    assert "does not match" in result.rejected[0][1]


def test_the_strong_verification_is_accepted_beside_a_weak_one(node):
    node.register(FACT, 60, CONFIG)
    node.register(FACT, 100, CONFIG)
    result = check(FACT, [node.url])
    assert result.accepted.security_bits == 100 and len(result.rejected) == 1


def test_fails_over_to_the_next_node_on_network_errors_and_5xx(node):
    node.register(FACT, 96, CONFIG)
    broken = FakeStarknetNode()
    broken.faults = [503] * 5
    try:
        result = check(FACT, [dead_url(), broken.url, node.url])
    finally:
        broken.stop()
    assert result.verified and result.node_url == node.url


def test_no_node_answering_is_chain_unavailable():
    with pytest.raises(integrity.ChainUnavailable, match="127.0.0.1"):
        check(FACT, [dead_url(), dead_url()])


def test_an_rpc_error_answer_is_not_failed_over(node):
    """A node that answers "contract not found" is right; asking another would hide a wrong address."""
    with pytest.raises(ClientError, match="Contract not found"):
        integrity.check_fact(
            FACT, rpc_urls=[node.url], registry=0x999, min_security_bits=96, accepted_configs=[CONFIG], timeout=2
        )


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


def test_node_urls_are_reported_without_their_api_key(node):
    node.register(FACT, 96, CONFIG)
    assert check(FACT, [f"{node.url}/rpc/v0_8/sekret-key-1"]).node_url == node.url
    with pytest.raises(integrity.ChainUnavailable) as failure:
        check(FACT, [f"{dead_url()}/v2/sekret-key-2?apikey=sekret-key-3"])
    assert "sekret" not in str(failure.value)
