"""PROVER_SERVICE=local on devnet: the service registers in the local fact registry only what its own
STARK verifier accepted, under a configuration of its own that no real network's engine accepts."""

import pytest

from allocations import deployment
from allocations.models import AllocationDecision, Execution
from allocations.services import contracts_verifier_configs
from proofs import cairo_statement, integrity, submission
from proofs.models import ProofJob
from proofs.selectors import accepted_verifier_configs
from proofs.statement import PublicInputs
from registry.models import ModelVersion
from tests.conftest import make_token
from tests.fakes.verification import drive

pytestmark = pytest.mark.django_db

UPSTREAM_MODEL = "2.0.0"  # the published inputs pass its policy


@pytest.fixture
def local_chain(onchain, settings, monkeypatch):
    """The settings `chain_deploy` writes on devnet: the local registrar, the owner's key to register with."""
    settings.PROVER_SERVICE = "local"
    settings.INTEGRITY_VERIFIER_CONFIGS = [str(c) for c in contracts_verifier_configs(local_fact_registry=True)]
    settings.STARKNET_OWNER_ADDRESS = hex(onchain.operator.address)
    monkeypatch.setenv("STARKNET_OWNER_PRIVATE_KEY", hex(onchain.operator.private_key))
    settings.PROOF_POLL_SECONDS = 0.0
    upstream = ModelVersion.objects.get(version=UPSTREAM_MODEL)
    onchain.invoke(deployment.call(onchain.deployed.risk_engine, "approve_model", [int(upstream.model_hash, 16)]))
    return onchain


def verifications(chain, fact_hash: str) -> list[int]:
    return chain.view(chain.deployed.fact_registry, "get_all_verifications_for_fact_hash", [int(fact_hash, 16)])


def test_a_decision_is_verified_through_its_own_stark_and_executes(local_chain, decided_job, api, staff_user):
    job = drive(decided_job(model_version=UPSTREAM_MODEL))

    assert job.status == ProofJob.Status.VERIFIED, job.error
    assert job.prover_service == "local" and job.verifier_config == {
        "layout": "winterfell", "hasher": "blake3_256", "stone_version": "obsqra-stark", "memory_verification": "local",
        "security_bits": job.proven_security_bits,
    }  # fmt: skip
    assert job.proven_security_bits == 128
    # Registered with the STARK's proven bits, under the local configuration, for exactly the job's fact.
    config = integrity.LOCAL_VERIFIER_CONFIG
    expected = integrity.verification_hash(int(job.fact_hash, 16), config, job.proven_security_bits)
    assert int(job.verification_hash, 16) == expected
    assert verifications(local_chain, job.fact_hash)[0] == 1  # one verification listed

    decision = AllocationDecision.objects.get(proof_job=job)
    token = make_token(staff_user)
    response = api.post("/risk-engine/execute-allocation", {"decision_id": decision.pk}, Authorization=f"Bearer {token}")
    assert response.status_code == 202, response.content
    assert Execution.objects.get().status == Execution.Status.SENT


def test_a_tampered_proof_is_never_registered(local_chain, decided_job, settings):
    job = decided_job(model_version=UPSTREAM_MODEL)
    proof = bytearray(job.proof)
    proof[len(proof) // 2] ^= 1
    ProofJob.objects.filter(pk=job.pk).update(proof=bytes(proof))

    job = drive(job)
    assert job.status == ProofJob.Status.FAILED and "not registered" in job.error
    job.refresh_from_db()
    assert verifications(local_chain, job.fact_hash) == [0]


def test_a_cairo_pie_of_another_statement_is_never_registered(local_chain, decided_job):
    job = submission.cairo_statement_ensure(decided_job(model_version=UPSTREAM_MODEL).pk)
    p = PublicInputs.model_validate(job.public_inputs)
    other = cairo_statement.run_decision(p.parameters, p.jediswap_metrics, p.ekubo_metrics, (p.apys.jediswap + 1, p.apys.ekubo), p.policy)
    ProofJob.objects.filter(pk=job.pk).update(cairo_pie=other.cairo_pie_bytes)

    job = drive(job)
    assert job.status == ProofJob.Status.FAILED
    assert "the Cairo PIE's output is not the statement the STARK proves" in job.error
    assert verifications(local_chain, hex(other.integrity_fact_hash)) == [0]


def test_without_the_owners_key_nothing_is_registered(local_chain, decided_job, monkeypatch):
    monkeypatch.delenv("STARKNET_OWNER_PRIVATE_KEY")
    job = drive(decided_job(model_version=UPSTREAM_MODEL))
    assert job.status == ProofJob.Status.FAILED and "no key to register facts with" in job.error


def test_an_engine_that_accepts_only_atlantic_refuses_a_local_verification(local_chain, decided_job, api, staff_user, settings):
    job = drive(decided_job(model_version=UPSTREAM_MODEL))
    assert job.status == ProofJob.Status.VERIFIED
    decision = AllocationDecision.objects.get(proof_job=job)
    # As on Sepolia or mainnet: the engine accepts Atlantic's configuration only.
    deploy, engine = deployment.deploy_call(
        local_chain.owner,
        deployment.class_hash("RiskEngine"),
        [local_chain.operator.address, local_chain.executor.address, local_chain.deployed.fact_registry,
         int(job.program_hash, 16), settings.INTEGRITY_MIN_SECURITY_BITS],
    )  # fmt: skip
    atlantic_only = [c for c in accepted_verifier_configs() if c != integrity.LOCAL_VERIFIER_CONFIG]
    setup = deployment.engine_setup_calls(
        engine, verifier_configs=atlantic_only, model_hashes=[int(decision.model_version.model_hash, 16)],
        policy=decision.policy.terms,
    )  # fmt: skip
    local_chain.invoke(deploy, *setup)
    settings.RISK_ENGINE_ADDRESS = hex(engine)

    token = make_token(staff_user)
    response = api.post("/risk-engine/execute-allocation", {"decision_id": decision.pk}, Authorization=f"Bearer {token}")
    assert response.status_code == 409
    assert "only under a verifier configuration the engine does not accept" in response.json()["detail"]
