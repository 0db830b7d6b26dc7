"""The event indexer (allocations.tasks.index_chain_events) against fake Starknet nodes, and /api/v1/events."""

import json

import pytest
from starknet_py.hash.selector import get_selector_from_name
from starknet_py.net.client_errors import ClientError

from allocations import risk, services, tasks
from allocations.chain import ChainUnavailable
from allocations.models import AllocationDecision, ChainEvent, IndexerCursor
from tests.conftest import PUBLISHED_EKUBO, PUBLISHED_JEDISWAP
from tests.fakes.servers import FakeStarknetNode, dead_url

pytestmark = pytest.mark.django_db

ENGINE = 0x0515_0B5C_A000_0000_0000_0000_0000_0000_0000_0000_0000_0000_0000_0000_0001
POOL = 0x0A11_CE00_0000_0000_0000_0000_0000_0000_0000_0000_0000_0000_0000_0000_0002
EXECUTED = get_selector_from_name("AllocationExecuted")
OTHER = get_selector_from_name("Swap")


@pytest.fixture
def indexing(settings, starknet_node):
    settings.STARKNET_RPC_URLS = [starknet_node.url]
    settings.STARKNET_RPC_TIMEOUT = 2
    settings.RISK_ENGINE_ADDRESS = hex(ENGINE)
    settings.INDEXED_CONTRACTS = []
    settings.INDEXER_START_BLOCK = starknet_node.block - 10
    settings.INDEXER_REORG_DEPTH = 5
    settings.INDEXER_CHUNK_SIZE = 2  # several pages per poll
    return settings


def stored() -> list[tuple[int, str, str]]:
    return list(ChainEvent.objects.values_list("block_number", "block_hash", "tx_hash"))


def executed_decision(tx_hash: int) -> AllocationDecision:
    inputs = services.decision_inputs_resolve(
        jediswap=risk.ProtocolMetrics(**PUBLISHED_JEDISWAP), ekubo=risk.ProtocolMetrics(**PUBLISHED_EKUBO)
    )
    decision = services.decision_create(inputs=inputs)
    decision.status, decision.tx_hash = AllocationDecision.Status.EXECUTED, hex(tx_hash)
    decision.save()
    return decision


def test_a_poll_stores_the_contracts_events_with_their_blocks(indexing, starknet_node):
    txs = [starknet_node.emit(ENGINE, [OTHER], [i]) for i in range(5)]
    starknet_node.emit(POOL, [OTHER], [99])  # another contract: not indexed

    assert tasks.index_chain_events() == {f"0x{ENGINE:064x}": starknet_node.block}
    events = ChainEvent.objects.all()
    assert [int(e.tx_hash, 16) for e in events] == txs
    assert [e.data for e in events] == [[f"0x{i:064x}"] for i in range(5)]
    assert all(int(e.block_hash, 16) == starknet_node.block_hash(e.block_number) for e in events)


def test_overlapping_polls_store_each_event_once(indexing, starknet_node):
    for i in range(3):
        starknet_node.emit(ENGINE, [OTHER], [i])
    tasks.index_chain_events()
    starknet_node.emit(ENGINE, [OTHER], [3])
    tasks.index_chain_events()  # re-reads the last INDEXER_REORG_DEPTH blocks
    tasks.index_chain_events()

    assert ChainEvent.objects.count() == 4


def test_the_poll_starts_reorg_depth_blocks_before_the_cursor(indexing, starknet_node):
    starknet_node.emit(ENGINE, [OTHER])
    tasks.index_chain_events()
    starknet_node.requests.clear()
    tasks.index_chain_events()

    filters = [json.loads(r["body"])["params"]["filter"] for r in starknet_node.requests if b"getEvents" in r["body"]]
    assert filters[0]["from_block"] == {"block_number": starknet_node.block + 1 - 5}


def test_a_reorg_of_two_blocks_replaces_their_events(indexing, starknet_node):
    kept = [starknet_node.emit(ENGINE, [OTHER], [i]) for i in range(3)]
    starknet_node.emit(ENGINE, [OTHER], [3])
    starknet_node.emit(ENGINE, [OTHER], [4])
    tasks.index_chain_events()

    starknet_node.reorg(2)
    # the new last block has one event
    replacement = starknet_node.emit(ENGINE, [OTHER], [40], block=starknet_node.block)
    tasks.index_chain_events()

    assert [int(tx, 16) for _, _, tx in stored()] == [*kept, replacement]
    assert all(int(h, 16) == starknet_node.block_hash(n) for n, h, _ in stored())
    assert IndexerCursor.objects.get().reorgs == 1


def test_an_allocation_executed_event_confirms_the_decision_of_its_transaction(indexing, starknet_node):
    tx = starknet_node.emit(ENGINE, [EXECUTED], [1, 2])
    decision = executed_decision(tx)
    unrelated = executed_decision(tx + 1)

    tasks.index_chain_events()

    decision.refresh_from_db()
    unrelated.refresh_from_db()
    assert (decision.status, decision.block_number) == (AllocationDecision.Status.CONFIRMED, starknet_node.block)
    assert unrelated.status == AllocationDecision.Status.EXECUTED
    assert ChainEvent.objects.get().name == "AllocationExecuted"


def test_only_executed_decisions_are_confirmed(indexing, starknet_node):
    tx = starknet_node.emit(ENGINE, [EXECUTED])
    decision = executed_decision(tx)
    decision.status = AllocationDecision.Status.REVERTED
    decision.save()

    tasks.index_chain_events()

    decision.refresh_from_db()
    assert decision.status == AllocationDecision.Status.REVERTED


def test_a_reorged_confirmation_moves_to_the_block_that_includes_it_again(indexing, starknet_node):
    tx = starknet_node.emit(ENGINE, [EXECUTED])
    decision = executed_decision(tx)
    tasks.index_chain_events()

    starknet_node.reorg(1)
    starknet_node.block += 1  # the transaction lands one block later on the new branch
    starknet_node.events.append(
        {"from_address": hex(ENGINE), "keys": [hex(EXECUTED)], "data": [], "block_number": starknet_node.block,
         "transaction_hash": hex(tx), "transaction_index": 0, "event_index": 0}
    )  # fmt: skip
    tasks.index_chain_events()

    decision.refresh_from_db()
    assert (decision.status, decision.block_number) == (AllocationDecision.Status.CONFIRMED, starknet_node.block)
    assert ChainEvent.objects.get().block_number == starknet_node.block


def test_a_network_failure_fails_over_to_the_next_node(indexing, starknet_node):
    starknet_node.emit(ENGINE, [OTHER])
    indexing.STARKNET_RPC_URLS = [dead_url(), starknet_node.url]

    tasks.index_chain_events()

    assert ChainEvent.objects.count() == 1
    assert IndexerCursor.objects.get().node == starknet_node.url


def test_a_5xx_fails_over_to_the_next_node(indexing, starknet_node):
    first = FakeStarknetNode()
    first.faults = [503] * 20
    starknet_node.emit(ENGINE, [OTHER])
    indexing.STARKNET_RPC_URLS = [first.url, starknet_node.url]
    try:
        tasks.index_chain_events()
    finally:
        first.stop()

    assert IndexerCursor.objects.get().node == starknet_node.url


def test_a_nodes_json_rpc_error_is_not_failed_over(indexing, starknet_node):
    first = FakeStarknetNode()
    first.rpc_errors["starknet_getEvents"] = (-32603, "Internal error: too many keys")
    starknet_node.emit(ENGINE, [OTHER])
    indexing.STARKNET_RPC_URLS = [first.url, starknet_node.url]
    try:
        with pytest.raises(ClientError):
            tasks.index_chain_events()
    finally:
        first.stop()

    assert not starknet_node.requests and not ChainEvent.objects.exists()


def test_no_node_answering_is_reported_and_nothing_moves(indexing, starknet_node):
    indexing.STARKNET_RPC_URLS = [dead_url(), dead_url()]

    with pytest.raises(ChainUnavailable):
        tasks.index_chain_events()

    assert not IndexerCursor.objects.exists()


def test_the_events_api_pages_and_filters(indexing, starknet_node, api):
    indexing.INDEXED_CONTRACTS = [hex(POOL)]
    for i in range(3):
        starknet_node.emit(ENGINE, [OTHER], [i])
    starknet_node.emit(POOL, [OTHER], [7])
    tasks.index_chain_events()
    first_block = ChainEvent.objects.order_by("block_number").first().block_number

    everything = api.get("/events").json()
    of_pool = api.get(f"/events?contract={hex(POOL)}").json()
    in_range = api.get(f"/events?from_block={first_block + 1}&to_block={first_block + 1}").json()

    assert everything["count"] == 4
    assert [e["data"] for e in of_pool["items"]] == [[f"0x{7:064x}"]]
    assert [e["block_number"] for e in in_range["items"]] == [first_block + 1]


def test_the_events_api_refuses_a_malformed_contract(api):
    assert api.get("/events?contract=pool").status_code == 422


def test_indexed_events_are_listed_read_only_in_the_admin(indexing, starknet_node, admin_client):
    starknet_node.emit(ENGINE, [EXECUTED])
    tasks.index_chain_events()

    page = admin_client.get("/admin/allocations/chainevent/")

    assert page.status_code == 200 and b"AllocationExecuted" in page.content


def test_the_indexer_runs_on_a_durable_schedule():
    from django_q.models import Schedule

    schedule = Schedule.objects.get(name="allocations.index_events")
    assert (schedule.func, schedule.repeats) == ("allocations.tasks.index_chain_events", -1)


def test_a_node_behind_the_cursor_is_not_taken_for_a_reorg(indexing, starknet_node):
    starknet_node.emit(ENGINE, [OTHER])
    starknet_node.emit(ENGINE, [OTHER])
    tasks.index_chain_events()
    lagging = FakeStarknetNode()
    lagging.block = starknet_node.block - 1
    lagging.events = list(starknet_node.events)
    indexing.STARKNET_RPC_URLS = [lagging.url]
    try:
        tasks.index_chain_events()
    finally:
        lagging.stop()

    assert ChainEvent.objects.count() == 2 and IndexerCursor.objects.get().reorgs == 0


def test_a_registered_fact_of_a_waiting_job_is_checked_at_the_next_poll(indexing, starknet_node, settings):
    from datetime import timedelta

    from django.utils import timezone

    from proofs.models import ProofJob

    settings.INDEXED_CONTRACTS = [hex(starknet_node.registry)]
    later = timezone.now() + timedelta(hours=1)
    ours, other = 0xFAC7, 0xFAC8
    waiting = ProofJob.objects.create(status="submitted", fact_hash=risk.felt_hex(ours), next_poll_at=later)
    unrelated = ProofJob.objects.create(status="submitted", fact_hash=risk.felt_hex(other), next_poll_at=later)
    registered = get_selector_from_name("FactRegistered")
    starknet_node.emit(starknet_node.registry, [registered, ours, 0x1E5, 96, 0xC0F, 0x7E1])

    tasks.index_chain_events()

    assert ChainEvent.objects.get(name="FactRegistered").keys[1] == risk.felt_hex(ours)
    waiting.refresh_from_db()
    unrelated.refresh_from_db()
    assert waiting.next_poll_at <= timezone.now() and waiting.status == "submitted"  # a hint, not a verification
    assert unrelated.next_poll_at == later
