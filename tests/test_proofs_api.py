import json
import subprocess
import sys
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from allocations.models import AllocationDecision
from proofs.models import ProofJob
from proofs.services import IllegalTransition, proof_job_transition, proof_jobs_sweep_stale
from proofs.statement import BROKEN_PROVER_NAMES, PROVER_NAME
from proofs.tasks import prove_job

pytestmark = pytest.mark.django_db


def test_generate_proves_synchronously_and_stores_the_job(api, decision_body):
    body = api.post("/proofs/generate", decision_body(model_version="1.0.0")).json()
    assert (body["jediswap_score"], body["ekubo_score"], body["status"]) == (44, 34, "generated")
    job = ProofJob.objects.get(pk=body["proof_job_id"])
    assert job.proof_hash == body["proof_hash"] and job.proof_size == len(job.proof) > 0
    assert job.proven_security_bits == job.conjectured_security_bits == 128 and job.generation_time > timedelta(0)
    assert [e.to_status for e in job.events.all()] == ["generating", "generated"]


def test_generate_refuses_bad_input_and_stores_nothing(api, decision_body):
    body = decision_body()
    body["jediswap_metrics"]["volatility"] = 20_000
    response = api.post("/proofs/generate", body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-2:] == ["jediswap_metrics", "volatility"]
    assert not ProofJob.objects.exists()


def test_orchestrate_stores_the_decision_with_its_proof(api, decision_body):
    body = api.post("/risk-engine/orchestrate-allocation", decision_body(model_version="2.0.0")).json()
    decision = AllocationDecision.objects.get(pk=body["decision_id"])
    assert str(decision.proof_job_id) == body["proof_job_id"]
    assert (body["jediswap_pct"], body["ekubo_pct"]) == (decision.jediswap_pct, decision.ekubo_pct)
    assert body["proof_status"] == "generated"
    assert body["verification_url"].endswith(f"/proofs/{body['proof_job_id']}/")


def test_a_policy_rejection_is_stored_with_the_proof_of_it(api, decision_body):
    body = api.post("/risk-engine/orchestrate-allocation", decision_body(model_version="1.0.0")).json()
    assert (body["status"], body["constraints_passed"], body["violations"]) == ("rejected", False, ["max_single"])
    statement = ProofJob.objects.get(pk=body["proof_job_id"]).public_inputs
    assert statement["violations"] == 1


def test_proof_status_has_the_seed_shape(api, decision_body):
    job_id = api.post("/proofs/generate", decision_body()).json()["proof_job_id"]
    body = api.get(f"/proofs/{job_id}").json()
    assert body["status"] == "generated" and body["elapsed_seconds"] >= 0
    assert body["estimated_completion"] is None
    assert body["public_inputs"]["jediswap_score"] == 44
    assert body["verification_url"].startswith("http://testserver/")


def test_unknown_proof_job_is_404(api):
    assert api.get("/proofs/00000000-0000-0000-0000-000000000000").status_code == 404


def test_proof_list_filters_by_status_and_counts_every_status(api, decision_body):
    api.post("/proofs/generate", decision_body())
    failed = ProofJob.objects.create(status=ProofJob.Status.FAILED, error="boom")
    listing = api.get("/proofs?status=failed&limit=10").json()
    assert [item["proof_job_id"] for item in listing["items"]] == [str(failed.pk)]
    assert listing["counts"] == {
        "generating": 0, "generated": 1, "submitted": 0, "verifying": 0, "verified": 0, "failed": 1, "timeout": 0,
    }  # fmt: skip
    assert api.get("/proofs?status=lost").status_code == 422


def canonical(document: dict) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def download(api, job_id):
    return api.get(f"/proofs/{job_id}/download")


def test_download_is_a_named_proof_file_that_verifies_standalone(api, decision_body, tmp_path):
    created = api.post("/risk-engine/orchestrate-allocation", decision_body()).json()
    response = download(api, created["proof_job_id"])
    assert response["Content-Type"] == "application/vnd.obsqra.proof+json"
    expected_name = f"obsqra-decision-{created['decision_id']}-{created['proof_hash'][2:14]}.proof.json"
    assert response["Content-Disposition"] == f'attachment; filename="{expected_name}"'
    path = tmp_path / expected_name
    path.write_bytes(response.content)
    result = subprocess.run([sys.executable, "-m", "obsqra_stark", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert created["proof_hash"] in result.stdout


def upload(api_client, content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return api_client.post("/api/v1/proofs/verify", {"file": SimpleUploadedFile("p.proof.json", content)}).json()


def test_uploaded_genuine_file_is_valid_and_linked_to_its_job(api, client, decision_body):
    job_id = api.post("/proofs/generate", decision_body()).json()["proof_job_id"]
    answer = upload(client, download(api, job_id).content)
    assert (answer["valid"], answer["proof_job_id"], answer["reason"]) == (True, job_id, None)


def test_uploaded_tampered_file_is_invalid_with_the_reason(api, client, decision_body):
    job_id = api.post("/proofs/generate", decision_body()).json()["proof_job_id"]
    document = json.loads(download(api, job_id).content)
    document["statement"]["jediswap_pct"] += 1
    document["statement"]["ekubo_pct"] -= 1
    answer = upload(client, canonical(document))
    assert answer["valid"] is False
    assert answer["reason"].startswith("the proof does not match the claimed statement")
    # the same change, re-formatted as most JSON tools would write it
    assert "not in canonical form" in upload(client, json.dumps(document).encode())["reason"]


def test_uploaded_garbage_is_invalid(client):
    answer = upload(client, b"not json at all")
    assert answer["valid"] is False and answer["reason"].startswith("the file is not a proof file")


def test_uploaded_v1_era_file_is_refused_as_proving_nothing(api, client, decision_body):
    job_id = api.post("/proofs/generate", decision_body()).json()["proof_job_id"]
    document = json.loads(download(api, job_id).content)
    document |= {"version": 1, "prover": BROKEN_PROVER_NAMES[0]}
    del document["security"]
    answer = upload(client, canonical(document))
    assert answer["valid"] is False and "whose verifier accepted forged proofs" in answer["reason"]


def test_a_v1_proof_is_marked_and_no_longer_published(api, client, decision_body):
    created = api.post("/risk-engine/orchestrate-allocation", decision_body()).json()
    ProofJob.objects.filter(pk=created["proof_job_id"]).update(prover=BROKEN_PROVER_NAMES[0])
    job = api.get(f"/proofs/{created['proof_job_id']}").json()
    assert job["made_by_broken_verifier"] is True
    response = download(api, created["proof_job_id"])
    assert response.status_code == 410 and "accepted forged proofs" in response.json()["detail"]
    page = client.get(f"/proofs/{created['proof_job_id']}/")
    assert "This proof proves nothing" in page.content.decode()
    assert client.get(f"/proofs/{created['proof_job_id']}/download/proof").status_code == 410
    decision_page = client.get(f"/decisions/{created['decision_id']}/").content.decode()
    assert "made by a broken verifier" in decision_page and "/download/proof" not in decision_page


def test_prove_decisions_proves_v1_decisions_again():
    call_command("load_demo", count=3, verbosity=0)
    old, *current = AllocationDecision.objects.order_by("pk")
    ProofJob.objects.filter(pk=old.proof_job_id).update(prover=BROKEN_PROVER_NAMES[0])
    call_command("prove_decisions", no_wait=True)
    old.refresh_from_db()
    prove_job(str(old.proof_job_id))
    old.proof_job.refresh_from_db()
    assert (old.proof_job.prover, old.proof_job.status) == (PROVER_NAME, "generated")
    assert all(d.proof_job_id == c.proof_job_id for d, c in zip(AllocationDecision.objects.order_by("pk")[1:], current))


def test_verify_proof_command_accepts_genuine_and_rejects_tampered(api, decision_body, tmp_path, capsys):
    job_id = api.post("/proofs/generate", decision_body()).json()["proof_job_id"]
    good = tmp_path / "good.proof.json"
    good.write_bytes(download(api, job_id).content)
    call_command("verify_proof", str(good))
    assert "VALID proof" in capsys.readouterr().out
    document = json.loads(good.read_bytes())
    document["statement"]["model_hash"] = "0x" + "0" * 63 + "1"
    bad = tmp_path / "bad.proof.json"
    bad.write_bytes(canonical(document))
    with pytest.raises(CommandError, match="INVALID: the model hash does not name these parameters"):
        call_command("verify_proof", str(bad))


def test_illegal_transitions_are_refused_and_leave_the_job_unchanged():
    job = ProofJob.objects.create(status=ProofJob.Status.GENERATED)
    with pytest.raises(IllegalTransition):
        proof_job_transition(job, ProofJob.Status.VERIFIED)
    job.refresh_from_db()
    assert job.status == "generated" and not job.events.exists()


def test_every_failure_reason_is_kept():
    job = ProofJob.objects.create(status=ProofJob.Status.GENERATED)
    job = proof_job_transition(job, ProofJob.Status.FAILED, detail="first reason")
    job = proof_job_transition(job, ProofJob.Status.GENERATED, detail="retry")
    job = proof_job_transition(job, ProofJob.Status.FAILED, detail="second reason")
    assert job.error == "second reason"
    assert [e.detail for e in job.events.filter(to_status="failed")] == ["first reason", "second reason"]


def test_sweeper_times_out_jobs_stuck_generating(settings):
    settings.PROOF_GENERATION_TIMEOUT = 60
    stuck = ProofJob.objects.create()
    fresh = ProofJob.objects.create()
    ProofJob.objects.filter(pk=stuck.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    assert proof_jobs_sweep_stale() == 1
    stuck.refresh_from_db(), fresh.refresh_from_db()
    assert (stuck.status, fresh.status) == ("timeout", "generating")
    assert "did not finish within 0:01:00" in stuck.error


def test_a_queued_proof_task_run_twice_proves_once():
    call_command("load_demo", count=1, verbosity=0)
    call_command("prove_decisions", all=True, no_wait=True)
    job = AllocationDecision.objects.get().proof_job
    prove_job(str(job.pk))
    prove_job(str(job.pk))
    job.refresh_from_db()
    assert job.status == "generated"
    assert job.events.filter(to_status="generated").count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_prove_decisions_reproves_through_real_workers_and_backfills_only_gaps(q_cluster):
    call_command("load_demo", count=12, verbosity=0)
    demo_jobs = set(ProofJob.objects.values_list("pk", flat=True))
    call_command("prove_decisions", all=True, timeout=120)
    decisions = AllocationDecision.objects.all()
    assert set(decisions.values_list("proof_job__status", flat=True)) == {"generated"}
    assert not demo_jobs & set(decisions.values_list("proof_job", flat=True))
    before = ProofJob.objects.count()
    call_command("prove_decisions", timeout=120)  # every decision has a proof: nothing to back-fill
    assert ProofJob.objects.count() == before


def test_retrying_a_failed_submission_starts_a_fresh_round(api, decision_body, settings):
    from proofs.services import proof_job_retry

    settings.PROVER_SERVICE = "atlantic"
    job = ProofJob.objects.get(pk=api.post("/risk-engine/orchestrate-allocation", decision_body()).json()["proof_job_id"])
    job = proof_job_transition(job, ProofJob.Status.SUBMITTED, remote_job_id="query-1", submit_attempts=3)
    job = proof_job_transition(job, ProofJob.Status.FAILED, detail="FAILED: out of memory")
    job = proof_job_retry(job)
    job.refresh_from_db()
    assert (job.status, job.remote_job_id, job.submit_attempts) == ("generated", "", 0)
    assert job.next_poll_at is not None  # the poll schedule submits it even if the queued task is lost
    assert job.events.filter(to_status="failed").get().detail == "FAILED: out of memory"
