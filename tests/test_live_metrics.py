"""Live metrics read from the JediSwap pair and the Ekubo pool (allocations.metrics_reader), on devnet
with the local stand-ins of both (allocations/contracts/src/local_pools.cairo) in the state the tests set."""

import math

import pytest

from allocations import metrics_reader, services
from allocations.models import MetricsSnapshot
from tests.conftest import Q128, RESERVE
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


def test_the_snapshots_record_the_block_they_were_read_at(live_pools):
    live = services.live_metrics()

    for snapshot in (live.jediswap_snapshot, live.ekubo_snapshot):
        snapshot.refresh_from_db()
        assert snapshot.source == MetricsSnapshot.Source.CHAIN
        assert snapshot.block_number == live_pools.head
        assert snapshot.block_timestamp.timestamp() == live_pools.head_timestamp


def test_the_latest_block_is_read_each_time_the_cache_is_cold(live_pools):
    from django.core.cache import cache

    services.live_metrics()
    live_pools.invoke(live_pools.pools.set_reserves_call(RESERVE, RESERVE // 10))
    cache.delete(services.LIVE_METRICS_CACHE_KEY)

    live = services.live_metrics()

    assert live.jediswap_snapshot.block_number == live_pools.head + 1
    assert live.jediswap.liquidity == 3  # 1.6e9 token1 now


def test_a_reading_is_reused_within_the_cache_time(live_pools, settings):
    first = services.live_metrics()
    settings.STARKNET_RPC_URLS = [dead_url()]  # any read of the chain would now fail

    second = services.live_metrics()

    assert second.jediswap_snapshot.pk == first.jediswap_snapshot.pk
    assert second.ekubo_snapshot.pk == first.ekubo_snapshot.pk


def test_a_network_failure_fails_over_to_the_next_node(live_pools, settings):
    settings.STARKNET_RPC_URLS = [dead_url(), live_pools.devnet.url]

    assert services.live_metrics().jediswap.utilization == 19


def test_no_node_answering_is_a_503_domain_error(live_pools, settings):
    settings.STARKNET_RPC_URLS = [dead_url()]

    with pytest.raises(services.MetricsUnavailable) as error:
        services.live_metrics()

    assert error.value.status_code == 503 and not MetricsSnapshot.objects.exists()


def test_unconfigured_pools_are_a_503_domain_error(live_pools, settings):
    settings.EKUBO_POOL_KEY = []

    with pytest.raises(services.MetricsUnavailable, match="EKUBO_POOL_KEY"):
        services.live_metrics()


def test_an_empty_pair_is_refused(live_pools):
    live_pools.invoke(live_pools.pools.set_reserves_call(0, 0))

    with pytest.raises(services.MetricsUnavailable, match="empty JediSwap pair"):
        services.live_metrics()


def test_a_pool_key_the_core_never_initialised_is_refused(live_pools, settings):
    token0, token1, fee, tick_spacing, extension = live_pools.pools.ekubo_pool_key
    settings.EKUBO_POOL_KEY = [hex(felt) for felt in (token0, token1, fee * 2, tick_spacing, extension)]

    with pytest.raises(services.MetricsUnavailable, match="uninitialized Ekubo pool"):
        services.live_metrics()


def test_a_pool_key_the_core_cannot_read_is_refused(live_pools, settings):
    token0, token1, _fee, tick_spacing, extension = live_pools.pools.ekubo_pool_key
    settings.EKUBO_POOL_KEY = [hex(felt) for felt in (token0, token1, 2**128, tick_spacing, extension)]  # fee: u128

    with pytest.raises(services.MetricsUnavailable, match="get_pool_price at") as error:
        services.live_metrics()

    assert error.value.status_code == 503 and not MetricsSnapshot.objects.exists()


@pytest.mark.parametrize(
    "pair",
    [
        pytest.param(lambda chain: chain.pools.ekubo_core, id="a contract with another ABI"),
        pytest.param(lambda chain: chain.owner.address, id="an account"),
        pytest.param(lambda chain: 0x0A1B, id="no contract"),
    ],
)
def test_a_pair_address_that_holds_no_pair_is_refused(live_pools, settings, pair):
    settings.JEDISWAP_POOL_ADDRESS = hex(pair(live_pools))

    with pytest.raises(services.MetricsUnavailable, match=f"get_reserves at {settings.JEDISWAP_POOL_ADDRESS}"):
        services.live_metrics()


def test_a_core_address_that_holds_another_contract_is_refused(live_pools, settings):
    settings.EKUBO_CORE_ADDRESS = hex(live_pools.pools.jediswap_pair)

    with pytest.raises(services.MetricsUnavailable, match="get_pool_price at"):
        services.live_metrics()


def test_a_decision_on_live_metrics_points_at_the_chain_snapshots(live_pools):
    inputs = services.decision_inputs_live()
    decision = services.decision_create(inputs=inputs)

    assert decision.jediswap_snapshot == inputs.snapshots[0]
    assert decision.jediswap_snapshot.source == MetricsSnapshot.Source.CHAIN
    assert MetricsSnapshot.objects.count() == 2


@pytest.mark.parametrize(
    ("felts", "reason"),
    [([RESERVE, 0, RESERVE, 0], "5 felts, got 4"), ([RESERVE, 0, RESERVE, 0, 0, 0], "5 felts, got 6")],
)
def test_an_answer_of_another_shape_is_refused(felts, reason):
    with pytest.raises(metrics_reader.MalformedAnswer, match=reason):
        metrics_reader.jediswap_sample(7, felts)


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
