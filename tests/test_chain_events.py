"""The event indexer (allocations.tasks.index_chain_events) on starknet-devnet, and /api/v1/events.

Every event comes from a real transaction of our contracts (tests/conftest.py ``onchain``): the
RiskEngine's owner approving a model is the cheap way to emit one (ModelApproved, keys [selector,
model hash]); executing a proven decision emits AllocationExecuted; the local fact registry emits
Integrity's FactRegistered.

What devnet 0.10.1 does that these tests rely on, checked by test_devnet_reorgs_reuse_block_numbers_and_hashes:
``devnet_abortBlocks(n)`` drops blocks n.. and their transactions (they are not re-queued), the head
becomes n - 1 and the next block is numbered n again. That block can even get the aborted block's
hash: its hash does not commit to its transaction or its timestamp (an empty replacement does get
another hash). So a reorg shows by the replaced blocks read again, not always by their hashes.
Pre-confirmed: devnet mining on every transaction always has an empty pre-confirmed block; a
transaction waits there only on a devnet that mines on demand. A devnet forked from ours at an older
block stands for a node behind: it has our blocks up to there and one of its own after.
"""

import asyncio
import functools

import pytest
from django.utils import timezone
from starknet_py.hash.selector import get_selector_from_name
from starknet_py.net.full_node_client import FullNodeClient

from allocations import deployment, indexer, risk, services, tasks
from allocations.chain import ChainUnavailable
from allocations.models import AllocationDecision, ChainEvent, Execution, IndexerCursor
from proofs import cairo_statement
from proofs.models import ProofJob
from proofs.submission import accepted_verifier_configs
from tests.conftest import SEPOLIA_METRICS
from tests.devnet import STRK, running_devnet
from tests.test_devnet import closed_port_url

pytestmark = pytest.mark.django_db

POLICY_SET = get_selector_from_name("PolicySet")
DEPLOY_EVENTS = 4  # the deployment's own: VerifierConfigAccepted (Atlantic's, the local registrar's), ModelApproved, PolicySet


@pytest.fixture
def indexing(settings, onchain):
    settings.INDEXED_CONTRACTS = []  # the RiskEngine only, through RISK_ENGINE_ADDRESS
    settings.INDEXER_START_BLOCK = 0
    settings.INDEXER_REORG_DEPTH = 5
    settings.INDEXER_CHUNK_SIZE = 2  # several pages per poll
    settings.INDEXER_EVENT_NAMES = ["ModelApproved", "PolicySet", "VerifierConfigAccepted"]
    return onchain


def approve(onchain, model_hash: int) -> int:
    return onchain.invoke(deployment.call(onchain.deployed.risk_engine, "approve_model", [model_hash]))


def head(devnet) -> int:
    return devnet.rpc("starknet_blockNumber")


def block_hash(devnet, number: int) -> str:
    block = devnet.rpc("starknet_getBlockWithTxHashes", {"block_id": {"block_number": number}})
    return risk.felt_hex(int(block["block_hash"], 16))


def approvals() -> list[int]:
    """The model hashes of the stored ModelApproved events after the deployment's, oldest first."""
    approved = ChainEvent.objects.filter(name="ModelApproved").order_by("block_number", "tx_hash", "event_index")
    return [int(event.keys[1], 16) for event in approved][1:]


def decision_inputs(jediswap_apy: int) -> services.DecisionInputs:
    """A decision the default policy passes under the current model."""
    return services.decision_inputs_resolve(
        jediswap=risk.ProtocolMetrics(**SEPOLIA_METRICS),
        ekubo=risk.ProtocolMetrics(**SEPOLIA_METRICS),
        apys=risk.Apys(jediswap=jediswap_apy, ekubo=1210),
    )


@functools.cache
def statement(jediswap_apy: int) -> cairo_statement.CairoRun:
    """The Cairo statement of decision_inputs(jediswap_apy): one fact per APY, and one fact executes once."""
    inputs = decision_inputs(jediswap_apy)
    return cairo_statement.run_decision(
        inputs.model_version.params, inputs.jediswap, inputs.ekubo, [jediswap_apy, 1210], inputs.policy.terms
    )


def approved_decision(jediswap_apy: int = 850) -> AllocationDecision:
    decision = services.decision_create(inputs=decision_inputs(jediswap_apy))
    assert decision.status == AllocationDecision.Status.APPROVED
    return decision


@pytest.fixture
def execution_call(indexing, settings):
    """``make(decision)``: the execute_decision call of the decision, its statement's fact registered as
    Atlantic would."""

    def make(decision: AllocationDecision):
        run = statement(decision.jediswap_apy)
        indexing.register_fact(
            run.integrity_fact_hash,
            config=accepted_verifier_configs()[0],
            security_bits=settings.INTEGRITY_MIN_SECURITY_BITS,
        )
        return deployment.call(
            indexing.deployed.risk_engine, "execute_decision", [decision.pk, len(run.output), *run.output]
        )

    return make


def record_execution(decision: AllocationDecision, tx_hash: int, *, status=Execution.Status.SENT) -> Execution:
    """What the execution path stores once it sent the decision's transaction."""
    tx = risk.felt_hex(tx_hash)
    AllocationDecision.objects.filter(pk=decision.pk).update(status=AllocationDecision.Status.EXECUTED, tx_hash=tx)
    return Execution.objects.create(
        decision=decision, status=status, tx_hash=tx, sender="0x1", nonce=0, calldata=[], transaction={}
    )


@pytest.fixture
def executed(indexing, execution_call):
    """``make(jediswap_apy)``: a decision executed on chain, its Execution recorded; the decision and the tx hash."""

    def make(jediswap_apy: int = 850) -> tuple[AllocationDecision, int]:
        decision = approved_decision(jediswap_apy)
        tx = indexing.invoke(execution_call(decision), as_executor=True)
        record_execution(decision, tx)
        return decision, tx

    return make


def send(onchain, signed) -> int:
    """A signed transaction sent as is, once accepted; its hash."""

    async def sent():
        answer = await onchain.owner.client.send_transaction(signed)
        await onchain.owner.client.wait_for_tx(answer.transaction_hash, check_interval=onchain.poll_seconds)
        return answer.transaction_hash

    return asyncio.run(sent())


def receipt_block(devnet, tx_hash: int) -> int:
    return devnet.rpc("starknet_getTransactionReceipt", {"transaction_hash": hex(tx_hash)})["block_number"]


# ---------------------------------------------------------------------------------------------
# Reading the chain
# ---------------------------------------------------------------------------------------------


def test_a_poll_stores_every_page_of_the_contracts_events_with_their_blocks(indexing, devnet):
    txs = [approve(indexing, 0x100 + i) for i in range(5)]

    assert tasks.index_chain_events() == {risk.felt_hex(indexing.deployed.risk_engine): head(devnet)}
    assert approvals() == [0x100 + i for i in range(5)]  # 8 events in pages of 2
    approved = ChainEvent.objects.filter(tx_hash__in=[risk.felt_hex(tx) for tx in txs])
    assert all(event.block_hash == block_hash(devnet, event.block_number) for event in approved)
    assert ChainEvent.objects.count() == DEPLOY_EVENTS + 5


def test_only_recognised_events_are_asked_of_the_node_and_stored(indexing, devnet, settings):
    settings.INDEXER_EVENT_NAMES = ["PolicySet"]
    policy = services.policy_get(None).terms
    approve(indexing, 0x100)  # ModelApproved: not recognised now
    set_policy = indexing.invoke(deployment.call(indexing.deployed.risk_engine, "set_policy", policy.to_elements()))

    tasks.index_chain_events()

    assert set(ChainEvent.objects.values_list("name", flat=True)) == {"PolicySet"}
    assert ChainEvent.objects.filter(tx_hash=risk.felt_hex(set_policy)).exists()
    # The node did the filtering (keys [[selectors]]): what it answered holds no ModelApproved at all.
    window = asyncio.run(
        indexer.read_window(
            FullNodeClient(node_url=devnet.url), address=indexing.deployed.risk_engine, from_block=0,
            stored_blocks=[], selectors=[POLICY_SET], max_blocks=100, chunk_size=100,
        )
    )  # fmt: skip
    assert {event.keys[0] for event in window.events} == {POLICY_SET}


def test_no_selector_is_refused_rather_than_asking_for_every_event(devnet):
    with pytest.raises(ValueError, match="every event"):
        asyncio.run(
            indexer.read_window(
                FullNodeClient(node_url=devnet.url), address=STRK, from_block=0, stored_blocks=[], selectors=[],
                max_blocks=10, chunk_size=10,
            )
        )  # fmt: skip


def test_overlapping_polls_store_each_event_once(indexing):
    approve(indexing, 0x100)
    approve(indexing, 0x101)
    tasks.index_chain_events()
    approve(indexing, 0x102)
    tasks.index_chain_events()  # re-reads the last INDEXER_REORG_DEPTH blocks, the first two approvals among them
    tasks.index_chain_events()

    assert approvals() == [0x100, 0x101, 0x102]
    assert ChainEvent.objects.count() == DEPLOY_EVENTS + 3
    assert IndexerCursor.objects.get().reorgs == 0


def test_pre_confirmed_events_are_stored_once_their_block_is_mined(db, settings):
    """On a devnet that mines only on demand, a transaction waits in the pre-confirmed block."""
    with running_devnet("--block-generation-on", "demand") as node:
        settings.STARKNET_RPC_URLS, settings.STARKNET_RPC_TIMEOUT = [node.url], 5
        settings.RISK_ENGINE_ADDRESS, settings.INDEXED_CONTRACTS = "", [hex(STRK)]
        settings.INDEXER_START_BLOCK, settings.INDEXER_EVENT_NAMES = 0, ["Transfer"]
        minted = node.rpc("devnet_mint", {"address": hex(node.accounts[0].address), "amount": 10, "unit": "FRI"})
        pre_confirmed = node.rpc("starknet_getBlockWithTxHashes", {"block_id": "pre_confirmed"})
        assert minted["tx_hash"] in pre_confirmed["transactions"]

        tasks.index_chain_events()
        assert not ChainEvent.objects.exists()

        node.rpc("devnet_createBlock")
        tasks.index_chain_events()
        stored = set(ChainEvent.objects.values_list("name", "block_number", "tx_hash"))
        assert stored == {("Transfer", 1, risk.felt_hex(int(minted["tx_hash"], 16)))}


# ---------------------------------------------------------------------------------------------
# Reorgs and nodes behind
# ---------------------------------------------------------------------------------------------


def test_devnet_reorgs_reuse_block_numbers_and_hashes(indexing, devnet):
    approve(indexing, 0x100)
    aborted_at = head(devnet)
    aborted_hash = block_hash(devnet, aborted_at)

    devnet.abort_blocks(aborted_at)
    assert head(devnet) == aborted_at - 1
    approve(indexing, 0x200)

    assert head(devnet) == aborted_at and block_hash(devnet, aborted_at) == aborted_hash


def test_a_reorg_drops_the_orphaned_events_and_stores_the_new_chains(indexing, devnet):
    approve(indexing, 0x100)
    first = head(devnet) + 1
    approve(indexing, 0x101)
    approve(indexing, 0x102)
    tasks.index_chain_events()

    devnet.abort_blocks(first)  # 0x101 and 0x102 never happened
    approve(indexing, 0x201)
    approve(indexing, 0x202)  # the new branch, at the same heights and (devnet) the same hashes
    tasks.index_chain_events()

    assert approvals() == [0x100, 0x201, 0x202]
    assert IndexerCursor.objects.get().reorgs == 1


def test_a_chain_shorter_than_the_cursor_is_not_read_as_a_reorg_until_it_regrows(indexing, devnet):
    """After an abort, nothing above the head can be told from what a node behind lacks: kept until
    the new chain has those heights."""
    approve(indexing, 0x100)
    approve(indexing, 0x101)
    tasks.index_chain_events()
    devnet.abort_blocks(head(devnet))

    tasks.index_chain_events()
    assert approvals() == [0x100, 0x101]

    devnet.rpc("devnet_createBlock")  # the height again, empty this time
    tasks.index_chain_events()
    assert approvals() == [0x100]


def test_a_node_behind_the_cursor_is_not_taken_for_a_reorg(indexing, devnet, settings):
    """The node behind is a devnet forked from ours at an older block: it answers our blocks up to
    there, and has its own block after."""
    approve(indexing, 0x100)
    forked_at = head(devnet)
    devnet.rpc("devnet_createBlock")  # forked_at + 1, where the lagging node has a block of its own
    approve(indexing, 0x101)  # forked_at + 2, which the lagging node never saw
    tasks.index_chain_events()

    with running_devnet("--fork-network", devnet.url, "--fork-block", str(forked_at)) as behind:
        assert head(behind) == forked_at + 1
        settings.STARKNET_RPC_URLS = [behind.url]
        tasks.index_chain_events()

    assert approvals() == [0x100, 0x101]
    assert IndexerCursor.objects.get().reorgs == 0


# ---------------------------------------------------------------------------------------------
# What the events mean: confirmations and verifications
# ---------------------------------------------------------------------------------------------


def test_an_allocation_executed_event_confirms_the_decision_whose_execution_sent_it(indexing, devnet, executed):
    decision, tx = executed()
    unrelated = approved_decision()
    record_execution(unrelated, approve(indexing, 0x100))  # a transaction of ours, but no AllocationExecuted

    tasks.index_chain_events()

    decision.refresh_from_db()
    assert (decision.status, decision.block_number) == (AllocationDecision.Status.CONFIRMED, receipt_block(devnet, tx))
    assert Execution.objects.get(decision=decision).status == Execution.Status.SUCCEEDED
    assert AllocationDecision.objects.get(pk=unrelated.pk).status == AllocationDecision.Status.EXECUTED
    [event] = ChainEvent.objects.filter(name="AllocationExecuted")
    assert int(event.keys[1], 16) == decision.pk  # keys: selector, decision id, model hash


def test_a_given_up_execution_whose_transaction_landed_after_all_is_confirmed(indexing, execution_call):
    decision = approved_decision()
    tx = indexing.invoke(execution_call(decision), as_executor=True)
    record_execution(decision, tx, status=Execution.Status.DROPPED)

    tasks.index_chain_events()

    assert Execution.objects.get(decision=decision).status == Execution.Status.SUCCEEDED
    assert AllocationDecision.objects.get(pk=decision.pk).status == AllocationDecision.Status.CONFIRMED


def test_a_reverted_decision_stays_reverted(indexing, executed):
    decision, _ = executed()
    AllocationDecision.objects.filter(pk=decision.pk).update(status=AllocationDecision.Status.REVERTED)

    tasks.index_chain_events()

    assert AllocationDecision.objects.get(pk=decision.pk).status == AllocationDecision.Status.REVERTED


def test_a_reorg_undoes_a_confirmation_and_the_reincluded_transaction_confirms_again(indexing, devnet, execution_call):
    decision = approved_decision()
    call = execution_call(decision)
    signed = asyncio.run(indexing.executor_account.sign_invoke_v3(call, auto_estimate=True))
    tx = send(indexing, signed)
    record_execution(decision, tx)
    landed = receipt_block(devnet, tx)
    tasks.index_chain_events()
    assert AllocationDecision.objects.get(pk=decision.pk).status == AllocationDecision.Status.CONFIRMED

    devnet.abort_blocks(landed)
    devnet.rpc("devnet_createBlock")  # the height again, without the transaction
    tasks.index_chain_events()
    assert AllocationDecision.objects.get(pk=decision.pk).status == AllocationDecision.Status.EXECUTED

    # The same signed transaction lands one block later on the new branch.
    assert send(indexing, signed) == tx
    tasks.index_chain_events()
    decision.refresh_from_db()
    assert (decision.status, decision.block_number) == (AllocationDecision.Status.CONFIRMED, landed + 1)
    assert ChainEvent.objects.get(name="AllocationExecuted").block_number == landed + 1


def test_a_registered_fact_of_a_waiting_job_is_checked_at_the_next_poll(indexing, settings):
    from datetime import timedelta

    settings.INDEXED_CONTRACTS = [hex(indexing.deployed.fact_registry)]
    later = timezone.now() + timedelta(hours=1)
    ours, other = 0xFAC7, 0xFAC8
    waiting = ProofJob.objects.create(status="submitted", fact_hash=risk.felt_hex(ours), next_poll_at=later)
    unrelated = ProofJob.objects.create(status="submitted", fact_hash=risk.felt_hex(other), next_poll_at=later)
    indexing.register_fact(
        ours, config=accepted_verifier_configs()[0], security_bits=settings.INTEGRITY_MIN_SECURITY_BITS
    )

    tasks.index_chain_events()

    assert ChainEvent.objects.get(name="FactRegistered").keys[1] == risk.felt_hex(ours)  # Integrity's #[key] fact_hash
    waiting.refresh_from_db()
    unrelated.refresh_from_db()
    assert waiting.next_poll_at <= timezone.now() and waiting.status == "submitted"  # a hint, not a verification
    assert unrelated.next_poll_at == later


# ---------------------------------------------------------------------------------------------
# Nodes
# ---------------------------------------------------------------------------------------------


def test_a_dead_first_node_fails_over_to_the_next(indexing, devnet, settings):
    settings.STARKNET_RPC_URLS = [closed_port_url(), devnet.url]

    tasks.index_chain_events()

    assert ChainEvent.objects.count() == DEPLOY_EVENTS
    assert IndexerCursor.objects.get().node == devnet.url


def test_no_node_answering_is_reported_and_nothing_moves(db, settings):
    settings.RISK_ENGINE_ADDRESS, settings.INDEXED_CONTRACTS = hex(STRK), []
    settings.STARKNET_RPC_URLS, settings.STARKNET_RPC_TIMEOUT = [closed_port_url(), closed_port_url()], 5

    with pytest.raises(ChainUnavailable):
        tasks.index_chain_events()

    assert not IndexerCursor.objects.exists() and not ChainEvent.objects.exists()


# ---------------------------------------------------------------------------------------------
# Reading what is indexed: API, admin, schedule
# ---------------------------------------------------------------------------------------------


def test_the_events_api_pages_and_filters(indexing, settings, api):
    registry = indexing.deployed.fact_registry
    settings.INDEXED_CONTRACTS = [hex(registry)]
    approve(indexing, 0x100)
    indexing.register_fact(0xFAC7, config=accepted_verifier_configs()[0], security_bits=96)
    tasks.index_chain_events()
    approved_at = ChainEvent.objects.get(name="ModelApproved", keys__1=risk.felt_hex(0x100)).block_number

    everything = api.get("/events").json()
    of_registry = api.get(f"/events?contract={hex(registry)}").json()
    in_range = api.get(f"/events?from_block={approved_at}&to_block={approved_at}").json()

    assert everything["count"] == DEPLOY_EVENTS + 2
    assert [e["name"] for e in of_registry["items"]] == ["FactRegistered"]
    assert [(e["name"], e["keys"][1]) for e in in_range["items"]] == [("ModelApproved", risk.felt_hex(0x100))]


def test_the_events_api_refuses_a_malformed_contract(api):
    assert api.get("/events?contract=pool").status_code == 422


def test_indexed_events_are_listed_read_only_in_the_admin(indexing, admin_client):
    tasks.index_chain_events()

    page = admin_client.get("/admin/allocations/chainevent/")

    assert page.status_code == 200 and b"VerifierConfigAccepted" in page.content


def test_the_indexer_runs_on_a_durable_schedule():
    from django_q.models import Schedule

    schedule = Schedule.objects.get(name="allocations.index_events")
    assert (schedule.func, schedule.repeats) == ("allocations.tasks.index_chain_events", -1)
