"""POST /api/v1/risk-engine/orchestrate-allocation without metrics: the pools' live metrics are used
(the local pools on devnet, as tests/conftest.py live_pools sets them)."""

import pytest

from allocations.models import AllocationDecision, MetricsSnapshot
from tests.fakes.servers import dead_url

pytestmark = pytest.mark.django_db


def test_without_metrics_the_decision_uses_live_chain_snapshots(api, live_pools):
    answer = api.post("/risk-engine/orchestrate-allocation", {"policy": "sepolia"})

    assert answer.status_code == 200
    decision = AllocationDecision.objects.get(pk=answer.json()["decision_id"])
    assert decision.jediswap_snapshot.source == MetricsSnapshot.Source.CHAIN
    assert (decision.jediswap_snapshot.utilization, decision.ekubo_snapshot.utilization) == (19, 9)
    assert decision.ekubo_snapshot.block_number == live_pools.head


def test_one_metric_set_alone_is_refused(api, live_pools, decision_body):
    body = decision_body()
    del body["ekubo_metrics"]

    assert api.post("/risk-engine/orchestrate-allocation", body).status_code == 422


def test_no_node_answering_is_503_and_nothing_is_stored(api, live_pools, settings):
    settings.STARKNET_RPC_URLS = [dead_url()]

    answer = api.post("/risk-engine/orchestrate-allocation", {})

    assert answer.status_code == 503 and "pool metrics unavailable" in answer.json()["detail"]
    assert not AllocationDecision.objects.exists()


def test_a_pair_address_that_holds_no_pair_is_503_not_a_server_error(api, live_pools, settings):
    settings.JEDISWAP_POOL_ADDRESS = hex(live_pools.owner.address)  # an account: no get_reserves

    answer = api.post("/risk-engine/orchestrate-allocation", {})

    assert answer.status_code == 503
    assert f"get_reserves at {settings.JEDISWAP_POOL_ADDRESS}" in answer.json()["detail"]
    assert not AllocationDecision.objects.exists()
