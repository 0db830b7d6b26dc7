import pytest
from django.core.management import call_command

from allocations.models import AllocationDecision

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_decisions():
    call_command("load_demo", count=25, verbosity=0)
    return AllocationDecision.objects.order_by("-id")


def test_decisions_are_paginated_newest_first(api, demo_decisions):
    page = api.get("/risk-engine/decisions").json()
    assert page["count"] == 25
    assert [d["decision_id"] for d in page["items"]] == [d.pk for d in demo_decisions[:20]]
    assert len(api.get("/risk-engine/decisions?page=2").json()["items"]) == 5


def test_decision_detail_shows_inputs_outputs_and_policy(api, demo_decisions):
    decision = demo_decisions.first()
    body = api.get(f"/risk-engine/decision/{decision.pk}").json()
    assert body["jediswap_metrics"]["utilization"] == decision.jediswap_snapshot.utilization
    assert body["jediswap_metrics"]["source"] == "demo"
    assert (body["jediswap_pct"] + body["ekubo_pct"], body["policy"]) == (10_000, "sepolia")
    assert body["constraints_passed"] == (body["violations"] == [])


def test_unknown_decision_is_404(api):
    assert api.get("/risk-engine/decision/424242").status_code == 404


def test_demo_loader_does_not_duplicate(demo_decisions):
    call_command("load_demo", count=25, verbosity=0)
    assert AllocationDecision.objects.count() == 25
