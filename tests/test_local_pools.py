"""The local stand-ins of a JediSwap pair and Ekubo's core (allocations/contracts/src/local_pools.cairo):
their read ABIs are the owners' own, so the metrics reader reads them as it reads the real pools.

The owners' source, as the contracts cite it:
- jediswaplabs/JediSwap at 10166d7d901225de056fd817f146a586428a131e, src/PairC1.cairo:
  ``fn get_reserves(self: @TContractState) -> (u256, u256, u64);``
- EkuboProtocol/starknet-contracts at 05e3fb099d1b5868b0c9c2670b43dce109774e0f: src/interfaces/core.cairo
  ``fn get_pool_price(self: @TContractState, pool_key: PoolKey) -> PoolPrice;`` and
  ``fn get_pool_liquidity(self: @TContractState, pool_key: PoolKey) -> u128;``, src/types/keys.cairo
  (PoolKey), src/types/pool_price.cairo (PoolPrice), src/types/i129.cairo (i129), src/math/ticks.cairo.
"""

import asyncio
import json
import math

import pytest
from starknet_py.net.client_errors import ClientError
from starknet_py.net.full_node_client import FullNodeClient

from allocations import deployment, metrics_reader
from tests.conftest import DAY, LIQUIDITY, Q128, RESERVE
from tests.devnet import CHAIN_ID

ADDRESS, U128, U256, BOOL = (
    "core::starknet::contract_address::ContractAddress", "core::integer::u128", "core::integer::u256", "core::bool",
)  # fmt: skip
POOL_KEY_MEMBERS = [
    ("token0", ADDRESS), ("token1", ADDRESS), ("fee", U128), ("tick_spacing", U128), ("extension", ADDRESS),
]  # fmt: skip
POOL_PRICE_MEMBERS = [("sqrt_ratio", U256), ("tick", "i129")]
I129_MEMBERS = [("mag", U128), ("sign", BOOL)]


def sierra(name: str) -> dict:
    return json.loads(deployment.artifacts(name)[0])


def abi_functions(contract: dict) -> dict[str, dict]:
    return {item["name"]: item for entry in contract["abi"] if entry["type"] == "interface" for item in entry["items"]}


def ours(type_: str) -> str:
    """Our module's types by their bare names (Ekubo's live in its own modules); core types in full."""
    return type_.removeprefix("obsqra_allocations::local_pools::")


def abi_struct(contract: dict, name: str) -> list[tuple[str, str]]:
    (struct,) = [e for e in contract["abi"] if e["type"] == "struct" and ours(e["name"]) == name]
    return [(member["name"], ours(member["type"])) for member in struct["members"]]


def external_selectors(contract: dict) -> set[int]:
    return {int(entry["selector"], 16) for entry in contract["entry_points_by_type"]["EXTERNAL"]}


def test_the_pair_declares_get_reserves_as_jediswap_does():
    pair = sierra("LocalJediSwapPair")

    get_reserves = abi_functions(pair)["get_reserves"]

    assert get_reserves["inputs"] == [] and get_reserves["state_mutability"] == "view"
    assert get_reserves["outputs"] == [{"type": "(core::integer::u256, core::integer::u256, core::integer::u64)"}]
    assert metrics_reader.GET_RESERVES in external_selectors(pair)


def test_the_core_declares_get_pool_price_and_get_pool_liquidity_as_ekubo_does():
    core = sierra("LocalEkuboCore")
    functions = abi_functions(core)

    assert abi_struct(core, "PoolKey") == POOL_KEY_MEMBERS
    assert abi_struct(core, "PoolPrice") == POOL_PRICE_MEMBERS
    assert abi_struct(core, "i129") == I129_MEMBERS
    for name, output in (("get_pool_price", "PoolPrice"), ("get_pool_liquidity", U128)):
        assert [(i["name"], ours(i["type"])) for i in functions[name]["inputs"]] == [("pool_key", "PoolKey")]
        assert [ours(o["type"]) for o in functions[name]["outputs"]] == [output]
        assert functions[name]["state_mutability"] == "view"
    assert {metrics_reader.GET_POOL_PRICE, metrics_reader.GET_POOL_LIQUIDITY} <= external_selectors(core)


def view(live_pools, address: int, function: str, calldata=(), block_number="latest") -> list[int]:
    call = deployment.call(address, function, calldata)
    return asyncio.run(live_pools.owner.client.call_contract(call, block_number=block_number))


def test_the_pairs_answer_is_what_the_reader_decodes(live_pools):
    felts = view(live_pools, live_pools.pools.jediswap_pair, "get_reserves")

    assert felts[:4] == [RESERVE, 0, RESERVE, 0]
    assert metrics_reader.jediswap_sample(live_pools.head, felts).depth == RESERVE


def test_new_reserves_are_stamped_with_the_time_the_chain_gives_the_transaction(live_pools):
    # devnet runs a block's transactions at the time its previous block closed: close one at a known time.
    later = live_pools.head_timestamp + DAY
    live_pools.devnet.rpc("devnet_setTime", {"time": later, "generate_block": True})

    live_pools.invoke(live_pools.pools.set_reserves_call(RESERVE, 2 * RESERVE))

    assert view(live_pools, live_pools.pools.jediswap_pair, "get_reserves") == [RESERVE, 0, 2 * RESERVE, 0, later]


def test_the_cores_answers_are_what_the_reader_decodes(live_pools):
    key = live_pools.pools.ekubo_pool_key
    sqrt_ratio = Q128 + Q128 // 1000

    price = view(live_pools, live_pools.pools.ekubo_core, "get_pool_price", key)
    liquidity = view(live_pools, live_pools.pools.ekubo_core, "get_pool_liquidity", key)

    assert price == [sqrt_ratio % Q128, sqrt_ratio // Q128, 1999, 0]  # tick 1999: sqrt(1.000001)**1999 <= 1.001
    assert liquidity == [LIQUIDITY]
    assert metrics_reader.ekubo_sample(live_pools.head, price, liquidity).sqrt_ratio == sqrt_ratio


def test_a_pool_key_never_set_answers_zero_as_an_uninitialised_pool(live_pools):
    token0, token1, fee, tick_spacing, extension = live_pools.pools.ekubo_pool_key
    other = [token0, token1, fee, tick_spacing * 2, extension]

    assert view(live_pools, live_pools.pools.ekubo_core, "get_pool_price", other) == [0, 0, 0, 0]
    assert view(live_pools, live_pools.pools.ekubo_core, "get_pool_liquidity", other) == [0]


@pytest.mark.parametrize(
    "setter",
    [lambda pools: pools.set_reserves_call(1, 1), lambda pools: pools.set_pool_call(Q128, 1)],
    ids=["set_reserves", "set_pool"],
)
def test_only_the_owner_sets_a_pools_state(live_pools, setter):
    stranger = live_pools.devnet.accounts[1].bind(FullNodeClient(node_url=live_pools.devnet.url), CHAIN_ID)

    with pytest.raises(ClientError, match="ONLY_OWNER"):
        asyncio.run(deployment.invoke_all(stranger, [setter(live_pools.pools)], poll_seconds=0.05))


@pytest.mark.parametrize("price", [1.001, 1.0, 0.999, 2.5, 1e-6])
def test_the_tick_is_the_greatest_at_or_below_the_price(price):
    sqrt_ratio = math.isqrt(int(price * 10**18) * Q128**2 // 10**18)

    low, high, mag, sign = deployment.ekubo_pool_price(sqrt_ratio)
    tick = -mag if sign else mag

    assert low + (high << 128) == sqrt_ratio
    # Ekubo: the sqrt ratio at tick t is sqrt(1.000001)**t (src/math/ticks.cairo tick_to_sqrt_ratio).
    assert 1.000001 ** (tick / 2) <= sqrt_ratio / Q128 * (1 + 1e-12) < 1.000001 ** ((tick + 1) / 2)
