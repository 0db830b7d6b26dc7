"""The STARK proves exactly one decision: every mutation of the proof or the statement is rejected."""

import json
import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from obsqra_stark import _stark

from allocations import risk
from proofs import proof_file
from proofs.statement import PublicInputs, VerificationError, prove, verify

from .conftest import PUBLISHED_EKUBO, PUBLISHED_JEDISWAP, SEPOLIA_METRICS, V1_ELEMENTS, V2_ELEMENTS

SEPOLIA_POLICY = risk.PolicyTerms(max_single=6000, min_diversification=2, max_volatility=10000, min_liquidity=3)
V1 = risk.ModelParams.from_elements(V1_ELEMENTS)
V2 = risk.ModelParams.from_elements(V2_ELEMENTS)


def statement_of(params, jediswap=PUBLISHED_JEDISWAP, ekubo=PUBLISHED_EKUBO):
    return PublicInputs.for_decision(
        params, risk.ProtocolMetrics(**jediswap), risk.ProtocolMetrics(**ekubo), risk.Apys(), SEPOLIA_POLICY
    )


V1_STATEMENT = statement_of(V1)
V1_PROOF = prove(V1_STATEMENT)


def rejected(proof: bytes, statement: PublicInputs) -> bool:
    try:
        verify(proof, statement)
    except VerificationError:
        return True
    return False


def test_published_v1_decision_proves_and_verifies():
    assert (V1_STATEMENT.jediswap_score, V1_STATEMENT.ekubo_score) == (44, 34)
    assert verify(V1_PROOF, V1_STATEMENT)


def test_published_v2_sepolia_decision_proves_and_verifies():
    statement = statement_of(V2, SEPOLIA_METRICS, SEPOLIA_METRICS)
    assert (statement.jediswap_pct, statement.ekubo_pct, statement.constraints_passed) == (4126, 5874, True)
    assert verify(prove(statement), statement)


def test_proofs_reach_the_promised_security():
    assert _stark.security(V1_PROOF) == _stark.SECURITY
    assert _stark.SECURITY["proven_bits"] >= 128 and _stark.SECURITY["conjectured_bits"] >= 128


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_changed_byte_of_the_proof_is_rejected(data):
    position = data.draw(st.integers(0, len(V1_PROOF) - 1))
    flip = data.draw(st.integers(1, 255))
    tampered = bytearray(V1_PROOF)
    tampered[position] ^= flip
    assert rejected(bytes(tampered), V1_STATEMENT)


def test_truncated_or_extended_proofs_are_rejected():
    assert rejected(V1_PROOF[:-1], V1_STATEMENT)
    assert rejected(V1_PROOF + b"\0", V1_STATEMENT)
    assert rejected(b"", V1_STATEMENT)


@settings(max_examples=300, deadline=None)
@given(index=st.integers(0, 43), delta=st.sampled_from([1, -1, 2, 7, 1000]))
def test_any_changed_public_input_is_rejected_by_the_stark(index, delta):
    vector = V1_STATEMENT.to_vector()
    vector[index] += delta
    if vector[index] < 0:
        vector[index] = 1
    with pytest.raises(VerificationError):
        _stark.verify(V1_PROOF, vector)


@pytest.mark.parametrize(
    "change",
    [
        {"jediswap_score": 45},
        {"ekubo_score": 33},
        {"jediswap_pct": 3534, "ekubo_pct": 6466},
        {"violations": 0},
        {"jediswap_metrics": risk.ProtocolMetrics(**(PUBLISHED_JEDISWAP | {"utilization": 6501}))},
        {"ekubo_metrics": risk.ProtocolMetrics(**(PUBLISHED_EKUBO | {"age_days": 601}))},
        {"apys": risk.Apys(jediswap=851, ekubo=1210)},
        {"policy": SEPOLIA_POLICY.model_copy(update={"max_single": 7000})},
        {"model_hash": f"0x{risk.model_hash(V1) + 1:064x}"},
    ],
    ids=lambda change: next(iter(change)),
)
def test_a_changed_statement_is_rejected(change):
    assert rejected(V1_PROOF, V1_STATEMENT.model_copy(update=change))


def test_a_proof_for_model_1_0_0_does_not_verify_as_2_0_0():
    as_v2 = statement_of(V2)
    assert rejected(V1_PROOF, as_v2)
    # Claiming v2's hash for v1's parameters, or v2's parameters under v1's hash, fails as well.
    assert rejected(V1_PROOF, V1_STATEMENT.model_copy(update={"model_hash": as_v2.model_hash}))
    assert rejected(V1_PROOF, V1_STATEMENT.model_copy(update={"parameters": V2}))


def test_the_prover_refuses_to_prove_false_outputs():
    with pytest.raises(ValueError):
        prove(V1_STATEMENT.model_copy(update={"jediswap_score": 45}))


V1_FILE = proof_file.encode(V1_STATEMENT, V1_PROOF)


def canonical(document: dict) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def refusal(data: bytes) -> str:
    with pytest.raises(VerificationError) as refused:
        proof_file.verify_file(data)
    return str(refused.value)


def test_proof_file_verifies_and_its_hash_is_the_sha256_of_its_bytes():
    verified = proof_file.verify_file(V1_FILE)
    assert verified.statement == V1_STATEMENT
    assert verified.proof_hash == proof_file.file_hash(V1_FILE)
    assert (verified.conjectured_bits, verified.proven_bits) == tuple(_stark.SECURITY.values())
    # the canonical form is what json.dumps writes with sorted keys and no spaces
    assert canonical(json.loads(V1_FILE)) == V1_FILE


@pytest.mark.parametrize(
    "document, reason",
    [
        (b"\x89PNG", "not a proof file"),
        (b'{"format": "zip"}', "format field"),
        (b'{"format":"obsqra-stark-proof","version":3}', "unsupported proof file version 3"),
        (b'{"format":"obsqra-stark-proof","prover":"winterfell-0.13.1/obsqra-risk-air-v1","version":1}', "accepted forged proofs"),
        (b"[" * 100_000, "not a proof file"),
    ],
)
def test_unreadable_proof_files_are_refused_with_a_reason(document, reason):
    assert reason in refusal(document)


def test_only_the_canonical_bytes_are_a_proof_file():
    document = json.loads(V1_FILE)
    assert "byte-order mark" in refusal(b"\xef\xbb\xbf" + V1_FILE)
    assert "not in canonical form" in refusal(json.dumps(document, indent=2).encode())
    assert "not in canonical form" in refusal(json.dumps(document, sort_keys=True).encode())


def test_a_repeated_statement_is_refused_not_read_either_way():
    # A reader keeping the last key would see ekubo_score 33; ours refuses the file.
    text = V1_FILE.decode()
    first = text[text.index('"statement":') : text.index(',"version"')]
    doubled = text.replace(first, first + "," + first.replace('"ekubo_score":34', '"ekubo_score":33'))
    assert json.loads(doubled)["statement"]["ekubo_score"] == 33
    assert "duplicate field `statement`" in refusal(doubled.encode())


def test_proof_field_must_be_canonical_base64():
    document = json.loads(V1_FILE)
    document["proof"] = "***"
    assert "the proof field is not base64" in refusal(canonical(document))


def test_a_canonical_file_with_a_changed_statement_says_what_is_wrong():
    document = json.loads(V1_FILE)
    document["statement"]["ekubo_score"] = 33
    assert refusal(canonical(document)).startswith("the proof does not match the claimed statement")
    document = json.loads(V1_FILE)
    document["statement"]["parameters"]["clamp_max"] = 96
    assert refusal(canonical(document)).startswith("the model hash does not name these parameters")


def run_standalone_verifier(path):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO", "DATABASE"))}
    return subprocess.run(
        [sys.executable, "-m", "obsqra_stark", str(path)], capture_output=True, text=True, env=env, timeout=60
    )


def test_standalone_verifier_accepts_a_genuine_file_without_django(tmp_path):
    path = tmp_path / "decision.proof.json"
    path.write_bytes(V1_FILE)
    result = run_standalone_verifier(path)
    assert result.returncode == 0, result.stderr
    assert f"VALID proof {proof_file.file_hash(V1_FILE)}" in result.stdout and "jediswap 44, ekubo 34" in result.stdout
    assert "128 bits proven" in result.stdout


def test_standalone_verifier_rejects_a_tampered_file(tmp_path):
    document = json.loads(V1_FILE)
    document["statement"]["ekubo_score"] = 33
    path = tmp_path / "tampered.proof.json"
    path.write_bytes(canonical(document))
    result = run_standalone_verifier(path)
    assert result.returncode == 1
    assert result.stderr.startswith("INVALID: the proof does not match the claimed statement")
