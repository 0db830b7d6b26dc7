"""The public audit-trail pages and their admin, through the test client."""

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from allocations import charts, risk
from allocations.models import AllocationDecision
from allocations.services import decision_create, decision_inputs_resolve
from proofs.models import ProofJob
from proofs.services import decision_orchestrate, proof_job_transition
from registry.models import ModelVersion

from .conftest import PUBLISHED_EKUBO, PUBLISHED_JEDISWAP, V2_ELEMENTS

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def inputs(**overrides):
    return decision_inputs_resolve(
        jediswap=risk.ProtocolMetrics(**PUBLISHED_JEDISWAP), ekubo=risk.ProtocolMetrics(**PUBLISHED_EKUBO), **overrides
    )


@pytest.fixture
def proven_decision() -> AllocationDecision:
    """Model 1.0.0 on the published metrics: 3533 / 6467 under the sepolia policy, so max_single breaks."""
    return decision_orchestrate(inputs=inputs(model_version="1.0.0"))


@pytest.fixture
def unproven_decisions():
    def make(count: int) -> list[AllocationDecision]:
        return [decision_create(inputs=inputs()) for _ in range(count)]

    return make


@pytest.fixture
def jobs():
    def make(status: str, count: int = 1) -> list[ProofJob]:
        return ProofJob.objects.bulk_create(ProofJob(status=status) for _ in range(count))

    return make


@pytest.fixture
def admin_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("admin", password="pw-admin-1"))
    return client


def text(response) -> str:
    return response.content.decode()


# Dashboard


def test_dashboard_lists_decisions_with_their_proof_and_totals(client, proven_decision):
    page = text(client.get("/"))
    job = proven_decision.proof_job
    assert f'href="/decisions/{proven_decision.pk}/"' in page
    assert f'href="/proofs/{job.pk}/download/proof"' in page
    assert 'href="/models/#v1.0.0"' in page
    assert re.search(r'stat--generated"[^>]*><span class="stat__value">1<', page)
    assert "35.33" in page and "64.67" in page


def test_dashboard_links_an_executed_decision_to_the_explorer(client, proven_decision, settings):
    settings.STARKNET_EXPLORER_URL = "https://explorer.example/"
    tx = "0x" + "ab" * 32
    AllocationDecision.objects.filter(pk=proven_decision.pk).update(status="executed", tx_hash=tx)
    assert f'href="https://explorer.example/tx/{tx}"' in text(client.get("/"))


def test_dashboard_charts_are_inline_svg_of_the_latest_points(client, unproven_decisions):
    unproven_decisions(3)
    page = text(client.get("/"))
    assert page.count('<svg class="chart"') == 2
    assert page.count("<title>Decision ") == 2 * 3
    assert '<script src="http' not in page  # nothing from a CDN


def test_dashboard_charts_follow_a_new_decision(client, unproven_decisions):
    unproven_decisions(2)
    client.get("/")  # renders and caches the charts
    unproven_decisions(1)
    assert text(client.get("/")).count("<title>Decision ") == 2 * 3


def test_dashboard_pages_through_decisions(client, unproven_decisions):
    decisions = unproven_decisions(23)
    second = text(client.get("/?page=2")).split('id="decisions"')[1]  # the table, not the chart data
    assert "Page 2 of 2" in second
    assert f'href="/decisions/{decisions[0].pk}/"' in second
    assert f'href="/decisions/{decisions[-1].pk}/"' not in second


def test_dashboard_htmx_paging_returns_the_table_alone(client, unproven_decisions):
    unproven_decisions(21)
    response = client.get("/?page=2", headers=HTMX | {"HX-Target": "decisions"})
    assert "<html" not in text(response) and "Page 2 of 2" in text(response)
    assert "HX-Request" in response["Vary"]


def test_empty_dashboard_says_so(client):
    assert "No decisions yet" in text(client.get("/"))


# Proof list


def test_proof_list_filters_by_status(client, jobs):
    failed = jobs("failed", 2)
    verified = jobs("verified")
    page = text(client.get("/proofs/?status=failed"))
    assert all(f"/proofs/{job.pk}/" in page for job in failed)
    assert f"/proofs/{verified[0].pk}/" not in page
    assert 'aria-current="page" >' not in page and 'class="tabs__failed" aria-current="page"' in page


def test_proof_list_shows_why_a_job_failed(client):
    ProofJob.objects.create(status="failed", error="prover service answered 422: layout mismatch")
    assert "prover service answered 422: layout mismatch" in text(client.get("/proofs/?status=failed"))


def test_proof_list_ignores_an_unknown_status(client, jobs):
    jobs("failed")
    jobs("verified")
    assert text(client.get("/proofs/?status=lost")).count('class="badge badge--') == 2


def test_proof_list_is_paginated(client, jobs):
    created = jobs("generated", 30)
    ProofJob.objects.filter(pk=created[0].pk).update(created_at=timezone.now() - timedelta(days=1))
    page = text(client.get("/proofs/?page=2"))
    assert "Page 2 of 2" in page and page.count('class="badge badge--') == 5
    assert f"/proofs/{created[0].pk}/" in page  # the oldest comes last


def test_proof_list_pagination_keeps_the_filter(client, jobs):
    jobs("failed", 26)
    assert 'href="?status=failed&amp;page=2"' in text(client.get("/proofs/?status=failed"))


# Proof detail


def test_proof_detail_shows_hashes_timeline_and_the_verify_command(client, proven_decision):
    job = proven_decision.proof_job
    page = text(client.get(f"/proofs/{job.pk}/"))
    assert job.proof_hash in page and proven_decision.model_version.model_hash in page
    assert f"python -m obsqra_stark obsqra-decision-{proven_decision.pk}-{job.proof_hash[2:14]}.proof.json" in page
    assert "pip install ./proofs/stark" in page and "cargo install --locked --profile verifier" in page
    assert re.search(r"generating →</span> <strong>generated</strong>", page)
    # bundle, program, fact, SHARP fact (before the Cairo run), verification, tx, verifier job: each says why
    assert page.count("the Cairo run is queued behind the proof") == 5  # four rows and the download section
    assert page.count("no proving service is configured here") == 2
    assert "— the decision has not been executed on chain" in page


def test_proof_detail_links_the_decisions_transaction_to_the_explorer(client, proven_decision):
    tx = "0x" + "cd" * 32
    AllocationDecision.objects.filter(pk=proven_decision.pk).update(tx_hash=tx)
    page = text(client.get(f"/proofs/{proven_decision.proof_job_id}/"))
    assert page.count(f'href="https://sepolia.voyager.online/tx/{tx}"') == 1
    assert f'data-copy="{tx}"' in page


def test_proof_detail_of_a_waiting_job_shows_elapsed_and_estimate(client, jobs):
    job = jobs("generating")[0]
    page = text(client.get(f"/proofs/{job.pk}/"))
    assert "Elapsed" in page and "Expected by" in page


def test_unknown_pages_are_404(client):
    assert client.get("/proofs/00000000-0000-0000-0000-000000000000/").status_code == 404
    assert client.get("/decisions/999999/").status_code == 404


# Live badge


def test_badge_of_a_final_job_stops_polling(client, jobs):
    job = jobs("verified")[0]
    response = client.get(f"/proofs/{job.pk}/badge", headers=HTMX)
    assert response.status_code == 286
    assert "hx-trigger" not in text(response) and 'data-status="verified"' in text(response)


def test_badge_of_a_waiting_job_polls_at_the_configured_interval(client, jobs, settings):
    settings.BADGE_POLL_SECONDS = 3
    job = jobs("submitted")[0]
    response = client.get(f"/proofs/{job.pk}/badge", headers=HTMX)
    assert response.status_code == 200
    assert "hx-trigger=\"every 3s [document.visibilityState=='visible']\"" in text(response)


def test_a_page_of_final_jobs_has_nothing_to_poll(client, jobs):
    jobs("verified", 3)
    jobs("failed", 2)
    assert "hx-trigger" not in text(client.get("/proofs/"))


# Downloads


def test_proof_download_is_the_verifiable_file(client, proven_decision):
    job = proven_decision.proof_job
    response = client.get(f"/proofs/{job.pk}/download/proof")
    assert response["Content-Type"] == "application/vnd.obsqra.proof+json"
    name = f"obsqra-decision-{proven_decision.pk}-{job.proof_hash[2:14]}.proof.json"
    assert response["Content-Disposition"] == f'attachment; filename="{name}"'
    assert response.content == client.get(f"/api/v1/proofs/{job.pk}/download").content


def test_public_inputs_download_is_the_statement_as_json(client, proven_decision):
    job = proven_decision.proof_job
    response = client.get(f"/proofs/{job.pk}/download/public-inputs")
    assert response["Content-Type"] == "application/json"
    name = f"obsqra-decision-{proven_decision.pk}-{job.proof_hash[2:14]}.public-inputs.json"
    assert response["Content-Disposition"] == f'attachment; filename="{name}"'
    assert json.loads(response.content) == job.public_inputs


def test_proof_download_before_the_proof_exists_is_409(client, jobs):
    assert client.get(f"/proofs/{jobs('generating')[0].pk}/download/proof").status_code == 409


def test_cairo_pie_download_is_the_zip_the_prover_service_gets(client, proven_decision):
    from proofs.submission import cairo_statement_run

    job = cairo_statement_run(proven_decision.proof_job)
    response = client.get(f"/proofs/{job.pk}/download/cairo-pie")
    assert response["Content-Type"] == "application/zip" and response.content[:2] == b"PK"
    name = f"obsqra-decision-{proven_decision.pk}-{job.proof_hash[2:14]}.cairo-pie.zip"
    assert response["Content-Disposition"] == f'attachment; filename="{name}"'
    page = text(client.get(f"/proofs/{job.pk}/"))
    assert job.program_hash in page and f"/proofs/{job.pk}/download/cairo-pie" in page


def test_cairo_pie_download_before_the_cairo_run_is_409(client, proven_decision):
    assert client.get(f"/proofs/{proven_decision.proof_job_id}/download/cairo-pie").status_code == 409


# Decision detail


def test_decision_detail_shows_the_broken_rule(client, proven_decision):
    page = text(client.get(f"/decisions/{proven_decision.pk}/"))
    failed = re.findall(r'<tr class="rule--failed">\s*<th scope="row"><code>(\w+)</code>', page)
    passed = re.findall(r'<tr class="rule--passed">\s*<th scope="row"><code>(\w+)</code>', page)
    assert (failed, passed) == (["max_single"], ["min_diversification", "max_volatility", "min_liquidity"])


def test_decision_detail_shows_snapshots_model_and_proof(client, proven_decision):
    page = text(client.get(f"/decisions/{proven_decision.pk}/"))
    assert 'href="/models/#v1.0.0"' in page and f'href="/proofs/{proven_decision.proof_job_id}/"' in page
    assert "65.00" in page and "800 days" in page  # JediSwap utilization and age


def test_decision_detail_shows_the_block_of_a_chain_snapshot(client, proven_decision):
    snapshot = proven_decision.jediswap_snapshot
    type(snapshot).objects.filter(pk=snapshot.pk).update(source="chain", block_number=812345)
    assert 'block <span class="mono">812345</span>' in text(client.get(f"/decisions/{proven_decision.pk}/"))


# Models page


def test_models_page_shows_the_current_version_and_the_history(client, proven_decision):
    page = text(client.get("/models/"))
    v1, v2 = ModelVersion.objects.get(version="1.0.0"), ModelVersion.objects.get(version="2.0.0")
    assert re.search(r'Current version: <a href="#v1.0.0">1.0.0</a>', page)
    assert v1.model_hash in page and v2.model_hash in page
    assert page.index('id="v2.0.0"') < page.index('id="v1.0.0"')
    assert "1 decision ·" in page and "0 decisions ·" in page


# Charts (pure geometry)


def test_split_chart_puts_each_share_on_the_percent_axis():
    at = timezone.now()
    chart = charts.split_chart(
        [{"id": i, "created_at": at, "jediswap_pct": pct, "ekubo_pct": 10000 - pct} for i, pct in enumerate((0, 10000))]
    )
    line = chart.series[0].line.split()
    assert line == [f"{charts.LEFT:.1f},{chart.bottom:.1f}", f"{chart.right:.1f},{chart.top:.1f}"]


def test_score_chart_axis_covers_the_highest_score():
    at = timezone.now()
    chart = charts.score_chart([{"id": 1, "created_at": at, "jediswap_score": 95, "ekubo_score": 5}])
    assert [tick.label for tick in chart.y_ticks] == ["0", "25", "50", "75", "100"]


# Admin


def test_admin_previews_the_model_hash_before_saving(admin_client, v2_params):
    params = v2_params.model_dump(mode="json") | {"clamp_max": 90}
    response = admin_client.post("/admin/registry/modelversion/preview-hash/", {"parameters": json.dumps(params)})
    expected = f"0x{risk.model_hash(risk.ModelParams.model_validate(params)):064x}"
    assert f'data-model-hash="{expected}"' in text(response)


def test_admin_hash_preview_names_the_version_with_the_same_parameters(admin_client):
    params = json.dumps(risk.ModelParams.from_elements(V2_ELEMENTS).model_dump(mode="json"), indent=4)
    response = admin_client.post("/admin/registry/modelversion/preview-hash/", {"parameters": params})
    assert "already registered as 2.0.0" in text(response)


def test_admin_hash_preview_explains_invalid_parameters(admin_client, v2_params):
    bad = v2_params.model_dump(mode="json") | {"clamp_min": 100, "clamp_max": 5}
    response = admin_client.post("/admin/registry/modelversion/preview-hash/", {"parameters": json.dumps(bad)})
    assert "clamp_min must not exceed clamp_max" in text(response)


def test_admin_hash_preview_is_staff_only(client, plain_user):
    client.force_login(plain_user)
    assert client.post("/admin/registry/modelversion/preview-hash/", {"parameters": "{}"}).status_code == 302


def test_admin_form_has_the_preview_button(admin_client):
    assert 'hx-post="/admin/registry/modelversion/preview-hash/"' in text(
        admin_client.get("/admin/registry/modelversion/add/")
    )


def test_admin_retry_action_retries_failed_and_timed_out_jobs_only(admin_client, proven_decision, jobs):
    failed = proof_job_transition(proven_decision.proof_job, ProofJob.Status.FAILED, detail="verifier said no")
    timed_out = jobs("timeout")[0]
    verified = jobs("verified")[0]
    response = admin_client.post(
        "/admin/proofs/proofjob/",
        {"action": "retry", "_selected_action": [failed.pk, timed_out.pk, verified.pk]},
        follow=True,
    )
    statuses = dict(ProofJob.objects.values_list("pk", "status"))
    assert (statuses[failed.pk], statuses[timed_out.pk], statuses[verified.pk]) == (
        "generated",
        "generating",
        "verified",
    )
    assert "Retried 2 jobs." in text(response) and "Skipped 1 not failed or timed out" in text(response)


def test_admin_proof_job_is_read_only_with_its_events(admin_client, proven_decision):
    job = proven_decision.proof_job
    page = text(admin_client.get(f"/admin/proofs/proofjob/{job.pk}/change/"))
    assert "Proof job events" in page
    assert re.findall(r'<td class="field-to_status">\s*<p>(\w+)</p>', page) == ["Generating", "Generated"]
    assert 'name="_save"' not in page
    found = text(admin_client.get(f"/admin/proofs/proofjob/?q={job.proof_hash}"))
    assert 'data-actions-icnt="1"' in found


def test_django_q2_monitor_is_in_the_admin(admin_client):
    page = text(admin_client.get("/admin/"))
    assert all(name in page for name in ("Failed tasks", "Scheduled tasks", "Queued tasks", "Successful tasks"))
    assert admin_client.get("/admin/django_q/failure/").status_code == 200
