"""The five risk metrics of JediSwap and Ekubo, read from their pools on Starknet.

No Django here: services.live_metrics passes in the settings and stores what comes back.

Both pools are reduced to the same two numbers at each sampled block: the square-root price of
token1 in token0 as a Q128 fixed-point integer (Ekubo's own ``sqrt_ratio``; for a JediSwap pair
``isqrt(reserve1 * 2**256 // reserve0)``) and the token1 depth (JediSwap's ``reserve1``; for Ekubo
the active liquidity's virtual reserve ``liquidity * sqrt_ratio // 2**128``). The metrics follow
from those series, oldest sample first, with integer arithmetic only:

- utilization (bps) = min(10000, sum |s[i] - s[i-1]| * 10000 // s[-1]): token1 swapped between the
  samples (for constant-product and in-range concentrated liquidity, token1 moved = L * |d sqrt P|)
  over the current token1 depth. Swaps that cancel out between two samples are not seen: a lower bound.
- volatility (bps) = min(10000, round(sqrt(mean(r_i**2) * year / step) * 10000)) with the price's log
  returns r_i = ln(p[i] / p[i-1]) = 2 ln(s[i] / s[i-1]) and step = the window's seconds (block
  timestamps) / the number of returns: the realised volatility of the samples, annualised (the
  model's definition). This one metric is computed in floating point; the snapshot stores the integer.
- liquidity tier = the first i with depth >= thresholds[i] (thresholds descending), else 3.
- audit_score = a configured number per protocol (audits are not on chain).
- age_days = (head block timestamp - timestamp of the configured deployment block) // 86400.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from starknet_py.hash.selector import get_selector_from_name
from starknet_py.net.client_errors import ClientError
from starknet_py.net.client_models import Call
from starknet_py.net.full_node_client import FullNodeClient

from . import risk

Q128 = 2**128
SECONDS_PER_DAY = 86_400
SECONDS_PER_YEAR = 365 * SECONDS_PER_DAY
MAX_AGE_DAYS = 36_500
GET_RESERVES = get_selector_from_name("get_reserves")
GET_POOL_PRICE = get_selector_from_name("get_pool_price")
GET_POOL_LIQUIDITY = get_selector_from_name("get_pool_liquidity")
# starknet_call's answers when the address holds no such pool (starknet-specs v0.10.2,
# api/starknet_api_openrpc.json): CONTRACT_NOT_FOUND, ENTRYPOINT_NOT_FOUND, CONTRACT_ERROR.
NOT_A_POOL = {"20", "21", "40"}


class MalformedAnswer(Exception):
    """A pool answered something that is not the documented return value, or an empty pool."""


@dataclasses.dataclass(frozen=True)
class PoolSample:
    block_number: int
    sqrt_ratio: int  # Q128 square-root price of token1 in token0
    depth: int  # token1 held (JediSwap) or virtually held by the active liquidity (Ekubo)


@dataclasses.dataclass(frozen=True)
class PoolSource:
    """Where one protocol's pool is and what is configured about it."""

    kind: str  # "jediswap" (a pair: get_reserves) or "ekubo" (the core: get_pool_price / get_pool_liquidity)
    address: int
    pool_key: tuple[int, ...] = ()  # Ekubo: token0, token1, fee, tick_spacing, extension
    audit_score: int = 0
    deployment_block: int = 0


@dataclasses.dataclass(frozen=True)
class PoolReading:
    metrics: risk.ProtocolMetrics
    samples: list[PoolSample]  # oldest first


@dataclasses.dataclass(frozen=True)
class ChainReading:
    block_number: int
    block_timestamp: int  # unix seconds
    pools: dict[str, PoolReading]


def _u256(low: int, high: int) -> int:
    return low + (high << 128)


def jediswap_sample(block_number: int, felts: Sequence[int]) -> PoolSample:
    """get_reserves() -> (reserve0: u256, reserve1: u256, block_timestamp_last: u64)."""
    if len(felts) != 5:
        raise MalformedAnswer(f"get_reserves returns 5 felts, got {len(felts)}")
    reserve0, reserve1 = _u256(felts[0], felts[1]), _u256(felts[2], felts[3])
    if reserve0 == 0 or reserve1 == 0:
        raise MalformedAnswer(f"empty JediSwap pair at block {block_number}")
    return PoolSample(block_number, math.isqrt((reserve1 << 256) // reserve0), reserve1)


def ekubo_sample(block_number: int, price_felts: Sequence[int], liquidity_felts: Sequence[int]) -> PoolSample:
    """get_pool_price(key) -> (sqrt_ratio: u256, tick: i129); get_pool_liquidity(key) -> u128."""
    if len(price_felts) != 4 or len(liquidity_felts) != 1:
        raise MalformedAnswer(
            f"pool price is 4 felts and liquidity 1, got {len(price_felts)} and {len(liquidity_felts)}"
        )
    sqrt_ratio = _u256(price_felts[0], price_felts[1])
    if sqrt_ratio == 0:
        raise MalformedAnswer(f"uninitialized Ekubo pool at block {block_number}")
    return PoolSample(block_number, sqrt_ratio, liquidity_felts[0] * sqrt_ratio // Q128)


def utilization_bps(sqrt_ratios: Sequence[int]) -> int:
    moved = sum(abs(b - a) for a, b in zip(sqrt_ratios, sqrt_ratios[1:]))
    return min(risk.BPS, moved * risk.BPS // sqrt_ratios[-1])


def volatility_bps(sqrt_ratios: Sequence[int], window_seconds: int) -> int:
    """Annualised realised volatility of the sampled prices (zero-mean returns, the usual estimator
    for short horizons); 0 without a return or a time span."""
    returns = [2 * math.log(b / a) for a, b in zip(sqrt_ratios, sqrt_ratios[1:])]
    if not returns or window_seconds <= 0:
        return 0
    step_seconds = window_seconds / len(returns)
    variance = sum(r * r for r in returns) / len(returns)
    return min(risk.BPS, round(math.sqrt(variance * SECONDS_PER_YEAR / step_seconds) * risk.BPS))


def liquidity_tier(depth: int, thresholds: Sequence[int]) -> int:
    """0 deepest .. 3 thinnest; ``thresholds`` are the lower bounds of tiers 0, 1 and 2, descending."""
    return next((tier for tier, floor in enumerate(thresholds) if depth >= floor), 3)


def age_days(now: int, deployed: int) -> int:
    return min(MAX_AGE_DAYS, max(0, (now - deployed) // SECONDS_PER_DAY))


def sample_blocks(head: int, *, samples: int, spacing: int) -> list[int]:
    """``samples`` blocks ``spacing`` apart ending at head, oldest first, none before block 0."""
    return sorted({max(0, head - i * spacing) for i in range(samples)})


async def _timestamp(client: FullNodeClient, block_number: int) -> int:
    return (await client.get_block_with_tx_hashes(block_number=block_number)).timestamp


async def _view(client: FullNodeClient, call: Call, name: str, block_number: int) -> list[int]:
    """The view's answer; a refusal of the call itself means the address holds no such pool."""
    try:
        return await client.call_contract(call, block_number=block_number)
    except ClientError as exc:
        if str(exc.code) not in NOT_A_POOL:
            raise
        raise MalformedAnswer(f"{name} at {call.to_addr:#x}, block {block_number}: {exc.message}"[:300]) from exc


async def _sample(client: FullNodeClient, source: PoolSource, block_number: int) -> PoolSample:
    if source.kind == "jediswap":
        felts = await _view(client, Call(source.address, GET_RESERVES, []), "get_reserves", block_number)
        return jediswap_sample(block_number, felts)
    key = list(source.pool_key)
    price = await _view(client, Call(source.address, GET_POOL_PRICE, key), "get_pool_price", block_number)
    liquidity = await _view(client, Call(source.address, GET_POOL_LIQUIDITY, key), "get_pool_liquidity", block_number)
    return ekubo_sample(block_number, price, liquidity)


async def read_pools(
    client: FullNodeClient,
    *,
    sources: dict[str, PoolSource],
    samples: int,
    spacing: int,
    liquidity_thresholds: Sequence[int],
) -> ChainReading:
    """Every pool sampled at the same blocks, ending at the node's latest block."""
    head = await client.get_block_number()
    now = await _timestamp(client, head)
    blocks = sample_blocks(head, samples=samples, spacing=spacing)
    window_seconds = now - await _timestamp(client, blocks[0])
    pools = {}
    for protocol, source in sources.items():
        series = [await _sample(client, source, block) for block in blocks]
        sqrt_ratios = [sample.sqrt_ratio for sample in series]
        metrics = risk.ProtocolMetrics(
            utilization=utilization_bps(sqrt_ratios),
            volatility=volatility_bps(sqrt_ratios, window_seconds),
            liquidity=liquidity_tier(series[-1].depth, liquidity_thresholds),
            audit_score=source.audit_score,
            age_days=age_days(now, await _timestamp(client, source.deployment_block)),
        )
        pools[protocol] = PoolReading(metrics, series)
    return ChainReading(head, now, pools)
