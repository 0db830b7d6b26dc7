"""Verification on Starknet: Cairo statement -> prover service -> Integrity on chain -> webhook.

The production clients talk to fake remote services on 127.0.0.1 (tests/fakes: Atlantic, SHARP,
Ethereum, a webhook sink) and to a real chain: starknet-devnet with our local fact registry, where the
fake Atlantic registers what it proves; a proxy in front of devnet plays failing nodes. Most tests drive the
services in this process (each call is what one django-q2 task does); the end-to-end tests run a
real django-q2 cluster subprocess, and the durable poll schedule is fired by calling django-q2's
own scheduler, which its sentinel otherwise does every ~30 s.
"""

import dataclasses
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task

from allocations import deployment
from proofs import facts, integrity, schedules, services, submission, webhooks
from proofs.models import ProofJob, ProofJobEvent
from proofs.statement import PublicInputs
from tests.chain_proxy import DROP, HANG, status
from tests.conftest import test_database_url
from tests.fakes.cluster import Cluster
from tests.fakes.servers import ATLANTIC_VERIFIER_CONFIG, pie_integrity_fact
from tests.fakes.verification import API_KEY, FINAL, WEBHOOK_SECRET, Fakes, apply, drive


def statuses(job) -> list[str]:
    return [e.to_status for e in job.events.all()]


def registered_verifications(onchain, fact_hash: str) -> list[integrity.Verification]:
    """What the fact registry on devnet holds for the fact, read with a plain view call."""
    registry = onchain.deployed.fact_registry
    felts = onchain.view(registry, "get_all_verifications_for_fact_hash", [int(fact_hash, 16)])
    return integrity.decode_verifications(felts)


# ---------------------------------------------------------------------------------------------
# Happy path and what is stored
# ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_generated_job_is_submitted_polled_and_verified_on_chain(fakes, decided_job):
    job = drive(decided_job())
    assert statuses(job) == ["generating", "generated", "submitted", "verifying", "verified"]
    assert job.verified_block == fakes.chain.devnet.rpc("starknet_blockNumber")
    assert job.verifier_config == {
        "layout": "recursive_with_poseidon", "hasher": "keccak_160_lsb", "stone_version": "stone6",
        "memory_verification": "relaxed", "security_bits": 96,
    }  # fmt: skip
    [stored] = registered_verifications(fakes.chain, job.fact_hash)
    assert job.verification_hash == f"0x{stored.verification_hash:064x}"
    assert job.poll_failures == 0 and job.last_poll_error == ""


@pytest.mark.django_db
def test_the_proof_page_names_the_verifier_config_that_matched(fakes, decided_job, client):
    job = drive(decided_job())
    page = client.get(f"/proofs/{job.pk}/").content.decode()
    assert "recursive_with_poseidon:keccak_160_lsb:stone6:relaxed</span> at 96 security bits" in page
    recipe = page[page.index('id="fact-recipe"') :]
    assert "0x005ab580b04e3532b6b18f81cfa654a05e29dd8e2352d88df1e765a84072db07" in recipe
    assert "<code>recursive_with_poseidon:keccak_160_lsb:stone6:relaxed</code>" in recipe and "at least 96" in recipe


@pytest.mark.django_db
def test_cairo_statement_is_stored_and_its_fact_is_the_one_a_bootloader_registers(fakes, decided_job):
    job = decided_job()
    submission.submit_to_prover_service(job.pk)
    job.refresh_from_db()
    assert job.status == "submitted" and job.prover_service == "atlantic"
    assert int(job.fact_hash, 16) == pie_integrity_fact(bytes(job.cairo_pie))
    assert job.program_hash.startswith("0x") and job.sharp_fact_hash.startswith("0x")
    assert job.cairo_steps > 1000 and job.cairo_time > timedelta(0)
    assert job.remote_job_id in fakes.atlantic.queries
    form = fakes.atlantic.queries[job.remote_job_id]["form"]
    assert {k: v.decode() for k, v in form.items() if k != "pieFile"} == {
        "dedupId": job.submission_key, "declaredJobSize": "S", "layout": "recursive_with_poseidon",
        "cairoVersion": "cairo0", "cairoVm": "python", "result": "PROOF_VERIFICATION_ON_L2", "network": "TESTNET",
    }  # fmt: skip
    assert form["pieFile"] == bytes(job.cairo_pie)


@pytest.mark.django_db
def test_a_cairo_output_that_differs_from_the_stark_statement_fails_the_job(fakes, decided_job):
    job = decided_job()
    tampered = dict(job.public_inputs, jediswap_pct=job.public_inputs["jediswap_pct"] + 1)
    ProofJob.objects.filter(pk=job.pk).update(public_inputs=tampered)
    job = drive(job)
    assert job.status == "failed" and "differs from the STARK public inputs" in job.error
    assert fakes.atlantic.submissions == []


@pytest.mark.django_db
def test_with_no_prover_service_a_job_stays_generated(settings, decided_job):
    settings.PROVER_SERVICE = ""
    job = decided_job()
    assert submission.poll_verifications() == 0
    job.refresh_from_db()
    assert job.status == "generated" and job.next_poll_at is None


@pytest.mark.django_db
def test_a_proof_without_a_decision_is_not_submitted(fakes, api, decision_body):
    job_id = api.post("/proofs/generate", decision_body()).json()["proof_job_id"]
    submission.submit_to_prover_service(job_id)
    assert ProofJob.objects.get(pk=job_id).status == "generated" and fakes.atlantic.submissions == []


# ---------------------------------------------------------------------------------------------
# Idempotent submission
# ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_submitting_twice_sends_one_query(fakes, decided_job):
    job = decided_job()
    submission.submit_to_prover_service(job.pk)
    submission.submit_to_prover_service(job.pk)
    assert len(fakes.atlantic.submissions) == 1


@pytest.mark.django_db
def test_the_same_statement_in_a_second_job_follows_the_first_query(fakes, decided_job):
    first, second = decided_job(), decided_job()
    submission.submit_to_prover_service(first.pk)
    submission.submit_to_prover_service(second.pk)
    first.refresh_from_db(), second.refresh_from_db()
    assert second.submission_key == first.submission_key
    assert second.remote_job_id == first.remote_job_id and len(fakes.atlantic.submissions) == 1
    assert drive(second).status == "verified"


@pytest.mark.django_db
def test_a_5xx_on_submit_is_retried_without_a_second_query(fakes, decided_job):
    fakes.atlantic.faults = [None, 503]  # the lookup answers, the submit does not
    job = decided_job()
    submission.submit_to_prover_service(job.pk)
    job.refresh_from_db()
    assert (job.status, job.submit_attempts, job.poll_failures) == ("generated", 1, 1)
    assert "Atlantic submit: HTTP 503" in job.last_poll_error and "looked up by dedupId" in job.last_poll_error
    assert drive(job).status == "verified"
    assert len(fakes.atlantic.queries) == 1


@pytest.mark.django_db
def test_a_submit_whose_answer_is_lost_is_found_by_its_dedup_id_and_never_paid_twice(fakes, decided_job):
    fakes.atlantic.lose_submit_answers = 1  # the query is created, its id never reaches us
    job = decided_job()
    submission.submit_to_prover_service(job.pk)
    job.refresh_from_db()
    assert job.status == "generated" and "HTTP 504" in job.last_poll_error
    [query_id] = fakes.atlantic.queries

    submission.submit_to_prover_service(job.pk)
    job.refresh_from_db()
    assert (job.status, job.remote_job_id) == ("submitted", query_id)
    assert "found by its dedupId" in job.events.last().detail
    assert len(fakes.atlantic.submissions) == 1
    assert drive(job).status == "verified"


@pytest.mark.django_db
def test_a_dedup_id_already_taken_is_followed_once_the_lookup_finds_it(fakes, decided_job):
    fakes.atlantic.lose_submit_answers, fakes.atlantic.lagging_lookups = 1, 1
    job = decided_job()
    submission.submit_to_prover_service(job.pk)  # created, answer lost
    submission.submit_to_prover_service(job.pk)  # the lookup misses it, the service refuses the key
    job.refresh_from_db()
    assert job.status == "generated" and "ATLANTIC_QUERY_WITH_DEDUP_ID_ALREADY_EXISTS" in job.last_poll_error
    job = drive(job)
    assert job.status == "verified" and len(fakes.atlantic.queries) == 1


@pytest.mark.django_db
def test_a_failed_query_under_our_dedup_id_is_submitted_again_on_retry(fakes, decided_job):
    fakes.atlantic.plan = ["RECEIVED", "FAILED"]
    job = drive(decided_job())
    assert job.status == "failed"
    fakes.atlantic.plan = ["RECEIVED", "IN_PROGRESS", "DONE"]
    job = drive(services.proof_job_retry(job))
    assert job.status == "verified" and len(fakes.atlantic.submissions) == 2
    assert job.remote_job_id == fakes.atlantic.by_dedup[job.submission_key]


@pytest.mark.django_db
def test_an_account_without_credits_fails_the_job_with_a_plain_cause(fakes, decided_job):
    fakes.atlantic.credits = 0
    job = drive(decided_job())
    assert job.status == "failed"
    assert job.error.startswith("submission refused: Atlantic submit: no credits (HTTP 402)")
    assert "top up" in job.error and fakes.atlantic.queries == {}


@pytest.mark.django_db
def test_submission_gives_up_after_the_attempt_limit(fakes, settings, decided_job):
    settings.PROOF_SUBMIT_MAX_ATTEMPTS = 3
    fakes.atlantic.faults = [None, 500] * 10
    job = drive(decided_job())
    assert job.status == "failed" and "submission failed 3 times" in job.error and "HTTP 500" in job.error


@pytest.mark.django_db
def test_a_refused_submission_fails_at_once(fakes, decided_job):
    fakes.atlantic.faults = [None, 400]  # the lookup answers, the submit is refused
    job = drive(decided_job())
    assert job.status == "failed" and "submission refused: Atlantic submit: HTTP 400" in job.error


# ---------------------------------------------------------------------------------------------
# Retryable trouble while polling: notes, not transitions
# ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_5xx_burst_while_polling_is_noted_and_verification_goes_on(fakes, decided_job):
    job = decided_job()
    submission.submit_to_prover_service(job.pk)
    fakes.atlantic.faults = [500, 502, 503, 429]
    job = drive(job)
    assert job.status == "verified"
    assert job.poll_failures == 4 and len(job.poll_notes) == 4
    assert [n["reason"] for n in job.poll_notes] == [f"poll: Atlantic poll: HTTP {c}" for c in (500, 502, 503, 429)]
    assert statuses(job) == ["generating", "generated", "submitted", "verifying", "verified"]


@pytest.mark.django_db
def test_malformed_json_and_a_hanging_service_are_retried(fakes, decided_job):
    job = decided_job()
    submission.submit_to_prover_service(job.pk)
    fakes.atlantic.faults = ["malformed", "hang"]
    job = drive(job)
    assert job.status == "verified"
    assert "malformed JSON" in job.poll_notes[0]["reason"] and "ReadTimeout" in job.poll_notes[1]["reason"]


@pytest.mark.django_db
def test_a_failure_pushes_the_next_poll_back_with_growing_delay(fakes, settings, decided_job):
    settings.PROOF_POLL_SECONDS, settings.PROOF_RETRY_MAX_SECONDS = 10.0, 1000.0
    job = decided_job()
    submission.submit_to_prover_service(job.pk)
    fakes.atlantic.faults = [500, 500]
    delays = []
    for _ in range(2):
        ProofJob.objects.filter(pk=job.pk).update(next_poll_at=timezone.now())
        before = timezone.now()
        submission.poll_verifications()
        job.refresh_from_db()
        delays.append((job.next_poll_at - before).total_seconds())
    assert 9 < delays[0] < 11 and 19 < delays[1] < 21
    assert submission.poll_verifications() == 0  # not due yet


@pytest.mark.django_db
def test_a_fact_the_chain_does_not_know_times_out_never_verified(fakes, settings, decided_job):
    """Atlantic says DONE but never registers; the chain holds an acceptable verification of the fact of the
    same program with one output changed (another allocation), which must not count for ours."""
    settings.PROOF_VERIFICATION_TIMEOUT = 0.5
    fakes.atlantic.register_on_chain = False
    job = submission.cairo_statement_ensure(decided_job().pk)
    output = PublicInputs.model_validate(job.public_inputs).cairo_output()
    output[-2] += 1  # ekubo_pct
    other = facts.bootloaded_fact(int(job.program_hash, 16), output)
    assert other != int(job.fact_hash, 16)
    fakes.chain.register_fact(other, config=ATLANTIC_VERIFIER_CONFIG, security_bits=128)
    submission.submit_to_prover_service(job.pk)
    deadline = time.monotonic() + 10
    while job.status not in FINAL and time.monotonic() < deadline:
        submission.poll_verifications()
        job.refresh_from_db()
        time.sleep(0.05)
    assert job.status == "timeout"
    assert "not verified within 0.5s" in job.error and "not on chain yet" in job.error
    assert not job.verification_hash


@pytest.mark.django_db
@pytest.mark.parametrize("fault", [status(503), status(429, retry_after=5), DROP], ids=["503", "429", "dropped"])
def test_a_chain_that_cannot_be_reached_is_retried_not_failed(fakes, settings, decided_job, chain_proxy, fault):
    chain_proxy.fail(fault, times=None)
    settings.STARKNET_RPC_URLS = [chain_proxy.url]
    job = drive(decided_job(), rounds=8)
    assert (job.status, job.verification_hash, job.verified_block) == ("verifying", "", None)
    assert job.last_poll_error.startswith(f"chain check: {chain_proxy.url}: ")
    assert registered_verifications(fakes.chain, job.fact_hash)  # on chain all along: only the node failed
    settings.STARKNET_RPC_URLS = [chain_proxy.url, fakes.chain.devnet.url]  # failover to a live node
    job = drive(job)
    assert job.status == "verified" and str(job.verified_block) in job.events.last().detail


@pytest.mark.django_db
def test_every_node_failing_names_each_in_the_poll_error_and_never_verifies(
    fakes, settings, decided_job, chain_proxies
):
    settings.STARKNET_RPC_TIMEOUT = 0.5
    failing, hanging = chain_proxies().fail(status(502), times=None), chain_proxies().fail(HANG, times=None)
    settings.STARKNET_RPC_URLS = [failing.url, hanging.url]
    job = drive(decided_job(), rounds=8)
    assert job.status == "verifying" and not job.verification_hash
    error = job.last_poll_error
    assert error.startswith("chain check: ") and failing.url in error and hanging.url in error
    assert "502" in error and "TimeoutError" in error


# ---------------------------------------------------------------------------------------------
# Permanent outcomes: never verified
# ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_verification_with_too_few_security_bits_never_verifies_and_times_out(fakes, decided_job, settings):
    fakes.atlantic.security_bits = 80
    job = drive(decided_job(), rounds=10)
    assert job.status == "verifying" and "80 security bits < 96" in job.last_poll_error and not job.verification_hash
    settings.PROOF_VERIFICATION_TIMEOUT = 0
    submission.poll_verifications()
    job.refresh_from_db()
    assert job.status == "timeout" and not job.verification_hash


@pytest.mark.django_db
def test_a_done_answer_with_another_fact_fails_loudly_with_both_values(fakes, decided_job):
    fakes.atlantic.fact_override = 0xDEADBEEF
    job = drive(decided_job())
    assert job.status == "failed"
    assert job.error == f"fact mismatch: Atlantic registered 0x{0xDEADBEEF:064x}, ours is {job.fact_hash}"


@pytest.mark.django_db
def test_atlantic_proving_under_the_stone_bootloader_is_a_fact_mismatch(fakes, decided_job):
    # Integrity src/lib_utils.cairo STONE_BOOTLOADER_PROGRAM_HASH (HerodotusDev/integrity 4ce9504f).
    fakes.atlantic.bootloader_program_hash = 0x40519557C48B25E7E7D27CB27297300B94909028C327B385990F0B649920CC3
    job = drive(decided_job())
    assert job.status == "failed" and job.error.startswith("fact mismatch: Atlantic registered 0x")


@pytest.mark.django_db
def test_atlantic_reporting_another_program_hash_fails_loudly_with_both_values(fakes, decided_job):
    fakes.atlantic.program_hash_override = 0x1234
    job = drive(decided_job())
    assert job.status == "failed"
    assert job.error == f"program hash mismatch: Atlantic proved program 0x{0x1234:064x}, ours is {job.program_hash}"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "lie",
    [
        {"security_bits": 95},
        {"verifier_config": dataclasses.replace(ATLANTIC_VERIFIER_CONFIG, layout="recursive")},
        {"verifier_config": dataclasses.replace(ATLANTIC_VERIFIER_CONFIG, hasher="keccak_248_lsb")},
        {"verifier_config": dataclasses.replace(ATLANTIC_VERIFIER_CONFIG, stone_version="stone5")},
        {"verifier_config": dataclasses.replace(ATLANTIC_VERIFIER_CONFIG, memory_verification="strict")},
    ],
    ids=["95-bits", "layout", "hasher", "stone-version", "memory"],
)
def test_our_fact_registered_under_other_settings_never_verifies(fakes, decided_job, lie):
    for name, value in lie.items():
        setattr(fakes.atlantic, name, value)
    job = drive(decided_job(), rounds=10)
    assert job.status == "verifying" and not job.verification_hash
    assert "no acceptable verification yet" in job.last_poll_error
    assert ("95 security bits < 96" if "security_bits" in lie else "is not one we accept") in job.last_poll_error


def test_the_default_verifier_config_is_atlantics_for_the_layout_we_send(settings):
    from proofs import cairo_statement, integrity

    [config] = [integrity.VerifierConfig.parse(text) for text in settings.INTEGRITY_VERIFIER_CONFIGS]
    assert config == ATLANTIC_VERIFIER_CONFIG and config.layout == cairo_statement.LAYOUT
    assert settings.INTEGRITY_MIN_SECURITY_BITS == 96


def test_the_testnet_l1_registry_is_the_sepolia_verifier_cairo_lang_names(settings):
    import starkware.cairo.sharp

    config = json.loads((Path(starkware.cairo.sharp.__file__).parent / "config.json").read_text())
    assert settings.ATLANTIC_NETWORK == "TESTNET"
    assert settings.SHARP_FACT_REGISTRY_ADDRESS == config["verifier_address"]


@pytest.mark.parametrize(
    "network,integrity_registry,gps_registry",
    [
        (
            "TESTNET",
            "0x4ce7851f00b6c3289674841fd7a1b96b6fd41ed1edc248faccd672c26371b8c",
            "0x07ec0D28e50322Eb0C159B9090ecF3aeA8346DFe",
        ),
        (
            "MAINNET",
            "0xcc63a1e8e7824642b89fa6baf996b8ed21fa4707be90ef7605570ca8e4f00b",
            "0x47312450B3Ac8b5b8e247a6bB6d523e7605bDb60",
        ),
    ],
)
def test_the_registries_follow_the_network(network, integrity_registry, gps_registry):
    code = (
        "import django; django.setup(); from django.conf import settings as s;"
        "print(s.INTEGRITY_FACT_REGISTRY_ADDRESS, s.SHARP_FACT_REGISTRY_ADDRESS)"
    )
    env = {**os.environ, "ATLANTIC_NETWORK": network, "DJANGO_SETTINGS_MODULE": "obsqra.settings"}
    for name in ("INTEGRITY_FACT_REGISTRY_ADDRESS", "SHARP_FACT_REGISTRY_ADDRESS"):
        env.pop(name, None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == [integrity_registry, gps_registry]


@pytest.mark.parametrize("name,value", [("ATLANTIC_JOB_SIZE", "XS"), ("ATLANTIC_NETWORK", "SEPOLIA")])
def test_a_setting_outside_what_atlantic_accepts_is_refused_at_start(name, value):
    env = {**os.environ, name: value, "DJANGO_SETTINGS_MODULE": "obsqra.settings"}
    out = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], env=env, capture_output=True, text=True
    )
    assert out.returncode != 0 and f"{name} must be" in out.stderr


@pytest.mark.django_db
def test_a_failed_query_fails_the_job_with_the_services_reason(fakes, decided_job):
    fakes.atlantic.plan = ["RECEIVED", "IN_PROGRESS", "FAILED"]
    job = drive(decided_job())
    assert job.status == "failed" and job.error == "atlantic failed: Out of memory while proving"


@pytest.mark.django_db
def test_sharp_gateway_is_submitted_and_polled_but_never_verified_without_an_l1_check(fakes, settings, decided_job):
    settings.PROVER_SERVICE = "sharp"
    job = decided_job()
    for _ in range(8):
        submission.poll_verifications()
    job.refresh_from_db()
    assert (job.status, job.prover_service, job.remote_status) == ("verifying", "sharp", "ONCHAIN")
    assert "no L1 fact check" in job.last_poll_error
    add_job = json.loads(fakes.sharp.requests[0]["body"])
    assert add_job["action"] == "add_job" and add_job["request"]["cairo_pie"]


@pytest.mark.django_db
def test_a_sharp_job_is_verified_once_its_keccak_fact_is_valid_on_l1(fakes, settings, decided_job):
    settings.PROVER_SERVICE = "sharp"
    settings.ETHEREUM_RPC_URLS = [fakes.ethereum.url]
    job = decided_job()
    for _ in range(6):
        submission.poll_verifications()
    job.refresh_from_db()
    assert job.status == "verifying" and job.last_poll_error.endswith("not valid on L1 yet")
    fakes.ethereum.valid_facts.add(int(job.sharp_fact_hash, 16))  # SHARP settles
    job = drive(job)
    assert (job.status, job.verified_block) == ("verified", fakes.ethereum.block)
    assert webhooks.webhook_deliver(str(job.pk))
    assert json.loads(fakes.webhook.requests[0]["body"])["fact_hash"] == job.sharp_fact_hash


# ---------------------------------------------------------------------------------------------
# Secrets
# ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_api_key_is_sent_as_a_header_and_never_stored_or_logged(fakes, decided_job, caplog):
    caplog.set_level("DEBUG")
    fakes.atlantic.faults = [500]
    job = drive(decided_job())
    assert job.status == "verified"
    assert {r["headers"].get("api-key") for r in fakes.atlantic.requests} == {API_KEY}
    row = json.dumps({f.name: str(getattr(job, f.name)) for f in ProofJob._meta.fields})
    events = " ".join(ProofJobEvent.objects.values_list("detail", flat=True))
    assert API_KEY not in row and API_KEY not in events and API_KEY not in caplog.text
    assert all(API_KEY not in r.getMessage() for r in caplog.records)


# ---------------------------------------------------------------------------------------------
# Webhook
# ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_webhook_is_signed_over_the_raw_body_and_sent_once(fakes, decided_job):
    job = drive(decided_job())
    assert webhooks.webhook_deliver(str(job.pk)) and webhooks.webhook_deliver(str(job.pk))
    [request] = fakes.webhook.requests
    expected = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), request["body"], hashlib.sha256).hexdigest()
    assert request["headers"]["X-Obsqra-Signature"] == expected
    assert json.loads(request["body"]) == {
        "event": "proof.verified", "proof_job_id": str(job.pk), "decision_id": job.decision.pk,
        "fact_hash": job.fact_hash, "verification_hash": job.verification_hash, "block": job.verified_block,
    }  # fmt: skip


@pytest.mark.django_db
def test_a_failed_webhook_is_retried_by_the_poll_schedule(fakes, decided_job):
    job = drive(decided_job())
    fakes.webhook.faults = [500, "hang"]
    for _ in range(3):
        submission.poll_verifications()
    job.refresh_from_db()
    assert job.webhook_attempts == 3 and job.webhook_delivered_at is not None and job.next_poll_at is None
    assert ["HTTP 500" in job.poll_notes[-2]["reason"], "ReadTimeout" in job.poll_notes[-1]["reason"]] == [True, True]
    assert len(fakes.webhook.requests) == 3


@pytest.mark.django_db
def test_webhook_delivery_gives_up_after_the_attempt_limit(fakes, settings, decided_job):
    settings.VERIFICATION_WEBHOOK_MAX_ATTEMPTS = 2
    job = drive(decided_job())
    fakes.webhook.faults = [500] * 5
    for _ in range(4):
        submission.poll_verifications()
    job.refresh_from_db()
    assert (job.webhook_attempts, job.webhook_delivered_at, job.next_poll_at) == (2, None, None)


# ---------------------------------------------------------------------------------------------
# API
# ---------------------------------------------------------------------------------------------


_private_api = None


@pytest.fixture
def verification_api(api):
    """GET on /api/v1/verification/...: the real routing once the lead mounts the router, else a private API."""
    global _private_api
    from ninja import NinjaAPI
    from ninja.testing import TestClient

    import obsqra.api
    from obsqra.errors import DomainError
    from proofs.api_verification import router

    if getattr(router, "api", None) is obsqra.api.api:

        class Mounted:
            def get(self, path):
                return api.get(path)

        return Mounted()
    if _private_api is None:
        _private_api = NinjaAPI(urls_namespace="verification-test")
        _private_api.add_router("/verification", router)
        _private_api.add_exception_handler(
            DomainError,
            lambda request, exc: _private_api.create_response(request, {"detail": exc.message}, status=exc.status_code),
        )
    return TestClient(_private_api)


@pytest.mark.django_db
def test_verification_status_reports_the_verified_job(fakes, decided_job, verification_api):
    job = drive(decided_job())
    body = verification_api.get(f"/verification/verification-status/{job.pk}").json()
    assert (body["status"], body["fact_hash"], body["verified_block"]) == (
        "verified",
        job.fact_hash,
        job.verified_block,
    )
    assert body["decision_id"] == job.decision.pk and body["verifier_config"]["security_bits"] == 96
    assert (
        verification_api.get("/verification/verification-status/00000000-0000-0000-0000-000000000000").status_code
        == 404
    )


@pytest.mark.django_db
def test_verify_fact_hash_checks_the_chain_live(fakes, verification_api):
    registry = fakes.chain.deployed.fact_registry
    fakes.chain.invoke(
        *(
            deployment.register_fact_call(registry, 0xABC, config=ATLANTIC_VERIFIER_CONFIG, security_bits=bits)
            for bits in (80, 112)
        )
    )
    body = verification_api.get("/verification/verify-fact-hash/0xabc").json()
    assert body["verified"] is True and body["block_number"] == fakes.chain.devnet.rpc("starknet_blockNumber")
    assert [(v["security_bits"], v["accepted"]) for v in body["verifications"]] == [(80, False), (112, True)]
    assert body["verifications"][0]["reason"] == "80 security bits < 96"
    unknown = verification_api.get("/verification/verify-fact-hash/0xabd").json()
    assert (unknown["verified"], unknown["verifications"]) == (False, [])


@pytest.mark.django_db
def test_verify_fact_hash_refuses_bad_input_and_reports_an_unreachable_chain(
    fakes, settings, verification_api, chain_proxy
):
    assert verification_api.get("/verification/verify-fact-hash/xyz").status_code == 422
    settings.STARKNET_RPC_URLS = [chain_proxy.fail(status(503), times=None).url]
    response = verification_api.get("/verification/verify-fact-hash/0xabc")
    assert response.status_code == 503 and "Starknet check failed" in response.json()["detail"]


# ---------------------------------------------------------------------------------------------
# End to end through a real django-q2 cluster
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def cluster_fakes(settings, tmp_path, onchain):
    fakes = Fakes(onchain)
    env = fakes.env() | {"DATABASE_URL": test_database_url()}
    apply(settings, fakes.env())
    clusters = []

    def start() -> Cluster:
        cluster = Cluster(env, tmp_path / "qcluster.log")
        clusters.append(cluster)
        cluster.wait_ready()
        return cluster

    fakes.start_cluster = start
    yield fakes
    for cluster in clusters:
        cluster.stop()
    fakes.stop()


def tick_until(condition, timeout=30):
    """Fires the poll schedule through django-q2's own scheduler (the sentinel does so every ~30 s).

    The schedule is made due first: another cluster on this database (the suite's q_cluster, with
    other settings) may run a poll task too and re-arm the schedule with its own, longer period.
    """
    from django_q.brokers import get_broker
    from django_q.scheduler import scheduler

    broker = get_broker()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        Schedule.objects.filter(name=schedules.POLL_VERIFICATIONS).update(next_run=timezone.now())
        scheduler(broker=broker)
        time.sleep(0.1)
    return condition()


def job_status(job_id) -> str:
    return ProofJob.objects.values_list("status", flat=True).get(pk=job_id)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_end_to_end_through_the_worker_with_signed_webhook(cluster_fakes, decided_job):
    cluster_fakes.start_cluster()
    assert Schedule.objects.filter(name=schedules.POLL_VERIFICATIONS, func="proofs.tasks.poll_verifications").exists()
    job = decided_job()
    assert tick_until(lambda: job_status(job.pk) in FINAL)
    job.refresh_from_db()
    assert job.status == "verified" and statuses(job)[-1] == "verified"
    assert tick_until(lambda: cluster_fakes.webhook.requests, timeout=10)
    [request] = cluster_fakes.webhook.requests
    assert request["headers"]["X-Obsqra-Signature"] == webhooks.signature(WEBHOOK_SECRET, request["body"])
    assert len(cluster_fakes.atlantic.submissions) == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_killed_between_submit_and_poll_loses_nothing(cluster_fakes, decided_job):
    first = cluster_fakes.start_cluster()
    job = decided_job()  # its submit task is queued on commit; the worker submits it
    deadline = time.monotonic() + 30
    while job_status(job.pk) != "submitted" and time.monotonic() < deadline:
        time.sleep(0.5)
        # The suite's own q_cluster (no prover service) may have taken the task: submitting is idempotent.
        async_task("proofs.tasks.submit_job", str(job.pk))
    assert job_status(job.pk) == "submitted"
    first.kill()
    cluster_fakes.start_cluster()
    assert tick_until(lambda: job_status(job.pk) in FINAL)
    assert job_status(job.pk) == "verified"
    assert len(cluster_fakes.atlantic.submissions) == 1
