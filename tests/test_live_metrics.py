"""Live metrics read from the JediSwap pair and the Ekubo pool (allocations.metrics_reader) on a fake node."""

import math

import pytest

from allocations import metrics_reader, services
from allocations.models import MetricsSnapshot
from tests.conftest import PAIR, Q128
from tests.fakes.servers import dead_url

pytestmark = pytest.mark.django_db

def test_the_five_metrics_of_each_pool(live_pools):
    live = services.live_metrics()

    # sqrt prices 1, 1.0009995, 1: moved 0.001999 of the current 1 -> 19 bps; hourly log returns
    # +-ln(1.002) -> 0.001998 * sqrt(8760) -> 1870 bps a year; 16e9 token1 -> tier 2.
    assert live.jediswap.model_dump() == {
        "utilization": 19, "volatility": 1870, "liquidity": 2, "audit_score": 98, "age_days": 100,
    }  # fmt: skip
    # sqrt prices 1, 1, 1.001: 0.001 / 1.001 -> 9 bps; returns 0 and 2 ln(1.001) -> sqrt(mean square)
    # 0.0014135 * sqrt(8760) -> 1323 bps; 1.001e13 token1 -> tier 0.
    assert live.ekubo.model_dump() == {
        "utilization": 9, "volatility": 1323, "liquidity": 0, "audit_score": 95, "age_days": 10,
    }  # fmt: skip


def test_the_snapshots_record_the_block_they_were_read_at(live_pools, starknet_node):
    live = services.live_metrics()

    for snapshot in (live.jediswap_snapshot, live.ekubo_snapshot):
        snapshot.refresh_from_db()
        assert snapshot.source == MetricsSnapshot.Source.CHAIN
        assert snapshot.block_number == starknet_node.block
        assert snapshot.block_timestamp.timestamp() == 1_750_000_000 + starknet_node.block * 30


def test_a_reading_is_reused_within_the_cache_time(live_pools, starknet_node):
    first = services.live_metrics()
    starknet_node.requests.clear()

    second = services.live_metrics()

    assert second.jediswap_snapshot.pk == first.jediswap_snapshot.pk
    assert second.ekubo_snapshot.pk == first.ekubo_snapshot.pk
    assert not starknet_node.requests


def test_a_network_failure_fails_over_to_the_next_node(live_pools, starknet_node):
    live_pools.STARKNET_RPC_URLS = [dead_url(), starknet_node.url]

    assert services.live_metrics().jediswap.utilization == 19


def test_no_node_answering_is_a_503_domain_error(live_pools):
    live_pools.STARKNET_RPC_URLS = [dead_url()]

    with pytest.raises(services.MetricsUnavailable) as error:
        services.live_metrics()

    assert error.value.status_code == 503 and not MetricsSnapshot.objects.exists()


def test_unconfigured_pools_are_a_503_domain_error(live_pools):
    live_pools.EKUBO_POOL_KEY = []

    with pytest.raises(services.MetricsUnavailable, match="EKUBO_POOL_KEY"):
        services.live_metrics()


def test_an_empty_pair_is_refused(live_pools, starknet_node):
    starknet_node.contracts[PAIR] = lambda selector, calldata, block: [0, 0, 0, 0, 0]

    with pytest.raises(services.MetricsUnavailable, match="empty JediSwap pair"):
        services.live_metrics()


def test_a_decision_on_live_metrics_points_at_the_chain_snapshots(live_pools):
    inputs = services.decision_inputs_live()
    decision = services.decision_create(inputs=inputs)

    assert decision.jediswap_snapshot == inputs.snapshots[0]
    assert decision.jediswap_snapshot.source == MetricsSnapshot.Source.CHAIN
    assert MetricsSnapshot.objects.count() == 2


@pytest.mark.parametrize(
    ("depth", "tier"), [(10**12, 0), (10**12 - 1, 1), (10**11, 1), (10**10, 2), (10**10 - 1, 3), (0, 3)]
)
def test_liquidity_tier_bounds(depth, tier):
    assert metrics_reader.liquidity_tier(depth, [10**12, 10**11, 10**10]) == tier


def test_metrics_stay_in_range_for_wild_prices():
    series = [Q128, 50 * Q128, Q128 // 50]
    assert metrics_reader.utilization_bps(series) == 10_000
    assert metrics_reader.volatility_bps(series, 3600) == 10_000


def test_volatility_is_annualised_from_the_sampling_interval():
    up = math.isqrt(101 * Q128**2 // 100)  # sqrt of a 1 % higher price
    daily = [Q128, up, Q128]  # +1 %, -1 % over two days
    assert metrics_reader.volatility_bps(daily, 2 * 86_400) == round(math.log(1.01) * math.sqrt(365) * 10_000)
    # The same moves an hour apart are sqrt(24) times as volatile a year.
    hourly = metrics_reader.volatility_bps(daily, 2 * 3_600)
    assert hourly == round(math.log(1.01) * math.sqrt(365 * 24) * 10_000)
    assert metrics_reader.volatility_bps([Q128] * 5, 86_400) == 0
    assert metrics_reader.volatility_bps([Q128], 86_400) == 0


def test_sample_blocks_never_go_below_genesis():
    assert metrics_reader.sample_blocks(15, samples=4, spacing=10) == [0, 5, 15]
