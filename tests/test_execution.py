"""Executing decisions on the RiskEngine (allocations.execution) against a fake Starknet node.

The node verifies the account's signature, keeps nonces, dry-runs calls for fee estimates and runs
propose_and_execute_allocation's checks (owner, facts in the Integrity registry, approved model).
Decisions are proven and verified through the real pipeline first (fake Atlantic -> fake chain).
"""

import json
import logging
import time

import pytest
from starknet_py.hash.selector import get_selector_from_name
from starknet_py.hash.utils import verify_message_signature
from starknet_py.net.signer.key_pair import KeyPair

from allocations import execution, risk_engine, selectors, tasks
from allocations.models import AllocationDecision, Execution
from proofs.models import ProofJob
from tests.conftest import make_token, test_database_url
from tests.fakes.cluster import Cluster
from tests.fakes.servers import dead_url
from tests.fakes.verification import drive

pytestmark = pytest.mark.django_db

PRIVATE_KEY = 0x04A1_9E5C_0FFE_E000_7357_1234_ABCD_EF01_2345_6789_ABCD_EF01_2345_6789_ABCD_EF0
KEY_PAIR = KeyPair.from_private_key(PRIVATE_KEY)
ACCOUNT = 0x0ACC_0000_0000_0000_0000_0000_0000_0000_0000_0000_0000_0000_0000_0000_0042
ENGINE = 0x0E46_1E00_0000_0000_0000_0000_0000_0000_0000_0000_0000_0000_0000_0000_0007
EXECUTED = get_selector_from_name("AllocationExecuted")


@pytest.fixture
def node(fakes, settings, monkeypatch):
    """The fake node with the operator's account deployed and the RiskEngine owned by it."""
    chain = fakes.chain
    chain.add_account(ACCOUNT, KEY_PAIR.public_key)
    chain.risk_engine, chain.risk_engine_owner = ENGINE, ACCOUNT
    settings.STARKNET_ACCOUNT_ADDRESS = hex(ACCOUNT)
    monkeypatch.setenv("STARKNET_ACCOUNT_PRIVATE_KEY", hex(PRIVATE_KEY))
    settings.RISK_ENGINE_ADDRESS = hex(ENGINE)
    settings.INTEGRITY_FACT_REGISTRY_ADDRESS = hex(chain.registry)
    settings.EXECUTION_POLL_SECONDS = 0
    settings.INDEXER_START_BLOCK = chain.block
    return chain


@pytest.fixture
def staff(api, staff_user):
    key = make_token(staff_user)

    def post(body):
        return api.post("/risk-engine/execute-allocation", body, Authorization=f"Bearer {key}")

    return post


@pytest.fixture
def verified_decision(node, decided_job):
    """A decision whose proof is verified on the fake chain and whose model the RiskEngine approves."""

    def make(**overrides) -> AllocationDecision:
        overrides.setdefault("model_version", "2.0.0")  # the upstream model: the published inputs pass its policy
        job = drive(decided_job(**overrides))
        assert job.status == ProofJob.Status.VERIFIED
        decision = AllocationDecision.objects.get(proof_job=job)
        node.approved_models.add(int(decision.model_version.model_hash, 16))
        return decision

    return make


def follow(execution_id: int, rounds: int = 10) -> Execution:
    """What the worker and the schedule do: one look per round until the transaction is settled."""
    for _ in range(rounds):
        settled = execution.execution_follow(execution_id)
        if settled.status != Execution.Status.SENT:
            return settled
    return settled


# ---------------------------------------------------------------------------------------------
# Happy path
# ---------------------------------------------------------------------------------------------


def test_a_verified_decision_is_executed_with_the_upstream_calldata_and_its_receipt_stored(
    node, verified_decision, staff, api
):
    decision = verified_decision()
    response = staff({"decision_id": decision.pk})

    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "sent" and body["decision_status"] == "executing"
    [sent] = node.sent
    assert int(body["tx_hash"], 16) == sent["hash"] and body["nonce"] == 0 and int(body["sender"], 16) == ACCOUNT

    # propose_and_execute_allocation's 24 felts, in the contract's order.
    [(to, selector, calldata)] = [(c["to"], c["selector"], c["calldata"]) for c in sent["calls"]]
    assert to == ENGINE and selector == get_selector_from_name("propose_and_execute_allocation")
    fact = int(decision.proof_job.fact_hash, 16)
    j, e = decision.jediswap_snapshot, decision.ekubo_snapshot
    policy = decision.policy
    assert calldata[:19] == [
        j.utilization, j.volatility, j.liquidity, j.audit_score, j.age_days,
        e.utilization, e.volatility, e.liquidity, e.audit_score, e.age_days,
        fact, fact, decision.jediswap_score, decision.ekubo_score, node.registry,
        int(decision.model_version.model_hash, 16),
        ACCOUNT, policy.max_single, policy.min_diversification,
    ]  # fmt: skip
    assert calldata[19:21] == [policy.max_volatility, policy.min_liquidity]
    assert [f"0x{felt:064x}" for felt in calldata] == body["calldata"]

    # The constraint signature is the account's SNIP-12 signature of the policy, checkable by anyone.
    r, s, timestamp = calldata[21:24]
    typed = risk_engine.constraints_typed_data(policy.terms, timestamp=timestamp, chain_id=int.from_bytes(b"SN_SEPOLIA"))
    assert verify_message_signature(typed.message_hash(ACCOUNT), [r, s], KEY_PAIR.public_key)

    settled = follow(body["id"])
    assert settled.status == Execution.Status.SUCCEEDED
    decision.refresh_from_db()
    assert decision.status == AllocationDecision.Status.EXECUTED
    assert int(decision.tx_hash, 16) == sent["hash"] and decision.block_number == settled.block_number
    assert settled.fee and int(settled.block_hash, 16) == node.block_hash(settled.block_number)

    # The indexer sees the contract's AllocationExecuted event and confirms the decision.
    tasks.index_chain_events()
    decision.refresh_from_db()
    assert decision.status == AllocationDecision.Status.CONFIRMED

    detail = api.get(f"/risk-engine/decision/{decision.pk}").json()
    assert detail["status"] == "confirmed" and detail["tx_hash"] == decision.tx_hash
    [listed] = api.get(f"/risk-engine/decision/{decision.pk}/executions").json()
    assert listed["status"] == "succeeded" and listed["block_number"] == settled.block_number


def test_a_transaction_still_received_is_followed_until_it_is_in_a_block(node, verified_decision, staff):
    node.hold_polls = 2
    decision = verified_decision()
    staff({"decision_id": decision.pk})
    sent = Execution.objects.get()

    assert execution.execution_follow(sent.pk).status == Execution.Status.SENT
    assert execution.execution_follow(sent.pk).status == Execution.Status.SENT
    assert follow(sent.pk).status == Execution.Status.SUCCEEDED
    assert len(node.sent) == 1


def test_the_worker_task_waits_for_the_receipt(node, verified_decision, staff, settings):
    node.hold_polls = 3
    decision = verified_decision()
    staff({"decision_id": decision.pk})

    assert tasks.follow_execution(Execution.objects.get().pk) == Execution.Status.SUCCEEDED


# ---------------------------------------------------------------------------------------------
# Reverts
# ---------------------------------------------------------------------------------------------


def test_a_revert_on_chain_stores_its_reason_and_the_decision_may_go_again(node, verified_decision, staff, api):
    decision = verified_decision()
    node.revert_on_inclusion = "DAO constraints violated"  # the chain changed after the fee estimate
    staff({"decision_id": decision.pk})
    settled = follow(Execution.objects.get().pk)

    assert settled.status == Execution.Status.REVERTED
    decision.refresh_from_db()
    assert decision.status == AllocationDecision.Status.REVERTED
    assert "DAO constraints violated" in decision.revert_reason and decision.block_number == settled.block_number
    detail = api.get(f"/risk-engine/decision/{decision.pk}").json()
    assert detail["revert_cause"] == "the on-chain DAO constraints reject this split"

    node.revert_on_inclusion = None
    again = staff({"decision_id": decision.pk})
    assert again.status_code == 202
    assert follow(again.json()["id"]).status == Execution.Status.SUCCEEDED
    decision.refresh_from_db()
    assert decision.status == AllocationDecision.Status.EXECUTED and decision.revert_reason == ""


def test_the_decision_page_lists_the_transactions_with_their_revert_cause(node, verified_decision, staff, client):
    decision = verified_decision()
    node.revert_on_inclusion = "DAO constraints violated"
    staff({"decision_id": decision.pk})
    reverted = follow(Execution.objects.get().pk)

    page = client.get(f"/decisions/{decision.pk}/").content.decode()
    assert "Transactions on the RiskEngine" in page and reverted.tx_hash in page
    assert page.count("the on-chain DAO constraints reject this split") == 2  # the decision and its attempt


@pytest.mark.parametrize(
    ("setup", "cause"),
    [
        (lambda node: node.approved_models.clear(), "the model version is not approved on the RiskEngine"),
        (lambda node: setattr(node, "risk_engine_owner", 0x999), "the account is not the RiskEngine's owner"),
        (lambda node: node.facts.clear(), "a proof fact is not registered in the fact registry"),
    ],
)
def test_a_call_the_dry_run_reverts_is_refused_and_nothing_is_stored(node, verified_decision, staff, setup, cause):
    decision = verified_decision()
    setup(node)
    response = staff({"decision_id": decision.pk})

    assert response.status_code == 409
    assert "would revert" in response.json()["detail"] and cause in response.json()["detail"]
    assert not node.sent and not Execution.objects.exists()
    decision.refresh_from_db()
    assert decision.status == AllocationDecision.Status.APPROVED


# ---------------------------------------------------------------------------------------------
# Only a stored, proven, policy-passing decision
# ---------------------------------------------------------------------------------------------


def test_only_a_stored_proven_policy_passing_decision_is_executed(
    node, verified_decision, decided_job, staff, settings
):
    rejected = verified_decision(apys={"jediswap": 100, "ekubo": 5000})
    assert not rejected.constraints_passed
    executed = verified_decision()
    assert staff({"decision_id": executed.pk}).status_code == 202
    # Proven but not verified on chain: its job stays generated without a prover service.
    settings.PROVER_SERVICE = ""
    unproven = AllocationDecision.objects.get(proof_job=decided_job(model_version="2.0.0"))

    cases = {
        "unknown": ({"decision_id": 999_999}, 404, "no decision 999999"),
        "rejected": ({"decision_id": rejected.pk}, 409, "breaks policy"),
        "unproven": ({"decision_id": unproven.pk}, 409, "no proof verified on Starknet"),
        "executing": ({"decision_id": executed.pk}, 409, "is executing"),
    }
    for name, (body, status, detail) in cases.items():
        response = staff(body)
        assert response.status_code == status, name
        assert detail in json.dumps(response.json()), name
    assert len(node.sent) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "decision_id"), ({"decision_id": "seven"}, "decision_id"), ({"decision_id": 0}, "decision_id"),
     ({"decision_id": 1, "force": True}, "force")],
)  # fmt: skip
def test_bad_bodies_are_422_with_the_field_named(node, staff, body, field):
    response = staff(body)
    assert response.status_code == 422
    assert field in [part for error in response.json()["detail"] for part in error["loc"]]


def test_executing_needs_staff(node, verified_decision, api, plain_user):
    decision = verified_decision()
    body = {"decision_id": decision.pk}
    assert api.post("/risk-engine/execute-allocation", body).status_code == 401
    token = make_token(plain_user)
    assert api.post("/risk-engine/execute-allocation", body, Authorization=f"Bearer {token}").status_code == 403
    assert not node.sent


def test_without_an_account_execution_is_off(node, verified_decision, staff, monkeypatch, client):
    decision = verified_decision()
    monkeypatch.delenv("STARKNET_ACCOUNT_PRIVATE_KEY")

    response = staff({"decision_id": decision.pk})
    assert response.status_code == 503 and "execution is off" in response.json()["detail"]
    assert client.get("/health").json()["execution"] == {"enabled": False}
    decision.refresh_from_db()
    assert decision.status == AllocationDecision.Status.APPROVED


# ---------------------------------------------------------------------------------------------
# Nodes failing, transactions lost
# ---------------------------------------------------------------------------------------------


def test_a_dead_first_node_fails_over_to_the_next(node, verified_decision, staff, settings):
    decision = verified_decision()
    settings.STARKNET_RPC_URLS = [dead_url(), node.url]

    assert staff({"decision_id": decision.pk}).status_code == 202
    settled = follow(Execution.objects.get().pk)
    assert settled.status == Execution.Status.SUCCEEDED and settled.node == node.url


def test_no_node_answering_is_503_and_leaves_the_decision_as_it_was(node, verified_decision, staff, settings):
    decision = verified_decision()
    settings.STARKNET_RPC_URLS = [dead_url()]

    response = staff({"decision_id": decision.pk})
    assert response.status_code == 503 and "no Starknet node answered" in response.json()["detail"]
    decision.refresh_from_db()
    assert decision.status == AllocationDecision.Status.APPROVED and not Execution.objects.exists()


def test_a_transaction_the_node_lost_is_resent_as_the_same_transaction(node, verified_decision, staff):
    node.drop_next = 1  # answered with its hash, then forgotten
    decision = verified_decision()
    staff({"decision_id": decision.pk})
    sent = Execution.objects.get()

    settled = follow(sent.pk)
    assert settled.status == Execution.Status.SUCCEEDED and settled.sends == 2
    assert [tx["hash"] for tx in node.sent] == [int(sent.tx_hash, 16)] * 2
    assert node.nonces[ACCOUNT] == 1  # one transaction landed


def executed_events(node) -> list[dict]:
    return [e for e in node.events if int(e["keys"][0], 16) == EXECUTED]


def test_a_resend_the_node_answers_59_is_followed_and_the_decision_never_goes_twice(node, verified_decision, staff):
    """The status node has not seen the transaction yet, the mempool has it: the resend gets DUPLICATE_TX."""
    node.hold_polls, node.lagging_polls = 3, 1
    decision = verified_decision()
    staff({"decision_id": decision.pk})
    sent = Execution.objects.get()

    looked = execution.execution_follow(sent.pk)
    assert looked.status == Execution.Status.SENT and "(code 59)" in looked.error
    assert AllocationDecision.objects.get(pk=decision.pk).status == AllocationDecision.Status.EXECUTING
    assert staff({"decision_id": decision.pk}).status_code == 409

    assert follow(sent.pk).status == Execution.Status.SUCCEEDED
    assert len(executed_events(node)) == 1 and Execution.objects.count() == 1


def test_a_first_transaction_that_lands_late_is_found_by_its_hash_after_a_52(node, verified_decision, staff):
    """It lands between our look and the resend: the resend gets INVALID_TRANSACTION_NONCE."""
    node.hold_polls, node.lagging_polls, node.mine_on_resend = 10**6, 1, True
    decision = verified_decision()
    staff({"decision_id": decision.pk})
    sent = Execution.objects.get()

    settled = execution.execution_follow(sent.pk)
    assert settled.status == Execution.Status.SUCCEEDED and int(settled.tx_hash, 16) == node.sent[0]["hash"]
    decision.refresh_from_db()
    assert decision.status == AllocationDecision.Status.EXECUTED
    assert staff({"decision_id": decision.pk}).status_code == 409
    assert len(executed_events(node)) == 1 and len(node.sent) == 1


def test_a_node_refusal_at_send_drops_the_attempt_and_frees_the_decision(node, verified_decision, staff):
    decision = verified_decision()
    node.rpc_errors["starknet_addInvokeTransaction"] = (55, "Account validation failed")

    response = staff({"decision_id": decision.pk})
    assert response.status_code == 409 and "refused" in response.json()["detail"]
    dropped = Execution.objects.get()
    assert dropped.status == Execution.Status.DROPPED and "Account validation failed" in dropped.error
    decision.refresh_from_db()
    assert decision.status == AllocationDecision.Status.APPROVED


def test_a_refused_resend_drops_the_attempt_without_stopping_the_round(node, verified_decision, staff):
    node.drop_next = 1
    decision = verified_decision()
    staff({"decision_id": decision.pk})
    node.rpc_errors["starknet_addInvokeTransaction"] = (55, "Account validation failed")

    assert tasks.follow_executions() == {"followed": 1, "still_open": 0, "released": 0}
    dropped = Execution.objects.get()
    assert dropped.status == Execution.Status.DROPPED and "Account validation failed" in dropped.error
    assert AllocationDecision.objects.get(pk=decision.pk).status == AllocationDecision.Status.APPROVED


def test_a_lost_transaction_whose_nonce_another_used_never_lands_and_the_decision_goes_again(
    node, verified_decision, staff
):
    node.drop_next = 1
    decision = verified_decision()
    staff({"decision_id": decision.pk})
    lost = Execution.objects.get()
    node.nonces[ACCOUNT] += 1  # another transaction of the account took nonce 0

    assert execution.execution_follow(lost.pk).status == Execution.Status.DROPPED
    lost.refresh_from_db()
    assert "nonce 0 was used by another transaction" in lost.error
    decision.refresh_from_db()
    assert decision.status == AllocationDecision.Status.APPROVED

    again = staff({"decision_id": decision.pk}).json()
    assert again["nonce"] == 1 and follow(again["id"]).status == Execution.Status.SUCCEEDED


def test_a_transaction_no_node_knows_past_the_timeout_is_given_up(node, verified_decision, staff, settings):
    node.drop_next = 10  # every send is forgotten
    settings.EXECUTION_TIMEOUT = 0
    decision = verified_decision()
    staff({"decision_id": decision.pk})

    settled = execution.execution_follow(Execution.objects.get().pk)
    assert settled.status == Execution.Status.DROPPED and "no node knew the transaction" in settled.error
    decision.refresh_from_db()
    assert decision.status == AllocationDecision.Status.APPROVED


def test_the_schedule_follows_open_transactions_and_frees_abandoned_claims(node, verified_decision, staff):
    decision = verified_decision()
    staff({"decision_id": decision.pk})
    abandoned = verified_decision()
    AllocationDecision.objects.filter(pk=abandoned.pk).update(
        status=AllocationDecision.Status.EXECUTING, updated_at="2000-01-01T00:00:00Z"
    )  # claimed by a worker that died before signing

    assert tasks.follow_executions() == {"followed": 1, "still_open": 0, "released": 1}
    assert AllocationDecision.objects.get(pk=decision.pk).status == AllocationDecision.Status.EXECUTED
    assert AllocationDecision.objects.get(pk=abandoned.pk).status == AllocationDecision.Status.APPROVED


def test_a_given_up_transaction_that_landed_after_all_is_confirmed_by_its_event(node, verified_decision, staff):
    decision = verified_decision()
    staff({"decision_id": decision.pk})
    sent = Execution.objects.get()
    execution._drop(sent, "given up")  # as after EXECUTION_TIMEOUT, though the node had it

    tasks.index_chain_events()
    sent.refresh_from_db()
    decision.refresh_from_db()
    assert sent.status == Execution.Status.SUCCEEDED
    assert decision.status == AllocationDecision.Status.CONFIRMED and decision.tx_hash == sent.tx_hash


# ---------------------------------------------------------------------------------------------
# The private key
# ---------------------------------------------------------------------------------------------


def test_the_private_key_never_appears_in_logs_errors_or_records(node, verified_decision, staff, caplog, settings):
    caplog.set_level(logging.DEBUG)
    spellings = {hex(PRIVATE_KEY), f"{PRIVATE_KEY:x}", f"{PRIVATE_KEY:064x}", str(PRIVATE_KEY)}
    decision, reverting, unreachable = verified_decision(), verified_decision(), verified_decision()
    answers = [staff({"decision_id": decision.pk}).content.decode()]
    follow(Execution.objects.get().pk)
    node.approved_models.clear()
    answers.append(staff({"decision_id": reverting.pk}).content.decode())  # a dry-run revert
    settings.STARKNET_RPC_URLS = [dead_url()]
    answers.append(staff({"decision_id": unreachable.pk}).content.decode())  # no node

    records = json.dumps(list(Execution.objects.values()), default=str)
    records += json.dumps(list(AllocationDecision.objects.values()), default=str)
    wire = b"".join(r["body"] for r in node.requests).decode()
    for text in (caplog.text, *answers, records, wire, repr(execution.operator_account())):
        assert not any(spelling in text.lower() for spelling in spellings)


def test_a_malformed_private_key_is_refused_without_repeating_it(node, verified_decision, staff, monkeypatch):
    decision = verified_decision()
    monkeypatch.setenv("STARKNET_ACCOUNT_PRIVATE_KEY", "not-hex-s3cr3t")

    response = staff({"decision_id": decision.pk})
    assert response.status_code == 503 and "s3cr3t" not in response.content.decode()


# ---------------------------------------------------------------------------------------------
# Reorgs and revert causes
# ---------------------------------------------------------------------------------------------


def test_a_reorg_that_drops_the_confirming_block_undoes_the_confirmation(node, verified_decision, staff, settings):
    settings.INDEXER_REORG_DEPTH = 5
    decision = verified_decision()
    staff({"decision_id": decision.pk})
    follow(Execution.objects.get().pk)
    tasks.index_chain_events()
    assert AllocationDecision.objects.get(pk=decision.pk).status == AllocationDecision.Status.CONFIRMED

    node.reorg(2)  # the block with AllocationExecuted is replaced by an empty one
    tasks.index_chain_events()
    assert AllocationDecision.objects.get(pk=decision.pk).status == AllocationDecision.Status.EXECUTED


@pytest.mark.parametrize(
    ("reason", "cause"),
    [
        ("Execution failed. Failure reason:\n0x556e617574686f72697a6564 ('Unauthorized').\n", "the account is not"),
        ("Execution failed. Failure reason:\n0x3 ('').\n", "the model version is not approved"),
        ("Failure reason: (0x0 (''))", "a proof fact is not registered"),
        ("Failure reason: 0x496e707574 ('Input').", "Input"),
        ("Failure reason: 0x1b ('').", ""),
        ("out of gas", ""),
    ],
)
def test_revert_causes_are_read_from_the_failure_value(reason, cause):
    assert risk_engine.revert_cause(reason).startswith(cause)


def test_the_constraint_signature_binds_the_policy():
    terms = selectors.policy_get(None).terms
    chain_id = int.from_bytes(b"SN_SEPOLIA")
    signed = risk_engine.constraints_typed_data(terms, timestamp=1, chain_id=chain_id).message_hash(ACCOUNT)
    looser = terms.model_copy(update={"max_single": terms.max_single + 1})
    assert risk_engine.constraints_typed_data(looser, timestamp=1, chain_id=chain_id).message_hash(ACCOUNT) != signed


# ---------------------------------------------------------------------------------------------
# Through a real django-q2 worker
# ---------------------------------------------------------------------------------------------


def fire_follow_schedule_until(condition, timeout=30) -> bool:
    """Fires allocations.follow_executions through django-q2's own scheduler until ``condition``.

    The suite's own q_cluster shares the queue but knows no node: a round it takes changes nothing.
    """
    from django.utils import timezone
    from django_q.brokers import get_broker
    from django_q.models import Schedule
    from django_q.scheduler import scheduler

    from allocations.schedules import FOLLOW_EXECUTIONS

    broker, deadline = get_broker(), time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        Schedule.objects.filter(name=FOLLOW_EXECUTIONS).update(next_run=timezone.now())
        scheduler(broker=broker)
        time.sleep(0.2)
    return condition()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_killed_while_following_loses_nothing_and_sends_nothing_twice(
    node, verified_decision, staff, settings, tmp_path
):
    env = {
        **{name: str(getattr(settings, name)) for name in ("RISK_ENGINE_ADDRESS", "INTEGRITY_FACT_REGISTRY_ADDRESS")},
        "STARKNET_RPC_URLS": node.url,
        "STARKNET_RPC_TIMEOUT": "2",
        "STARKNET_ACCOUNT_ADDRESS": hex(ACCOUNT),
        "EXECUTION_POLL_SECONDS": "0.2",
        "DATABASE_URL": test_database_url(),
    }
    first = Cluster(env, tmp_path / "first.log")
    second = None
    try:
        first.wait_ready()
        node.hold_polls = 10**6  # the transaction stays RECEIVED while the first worker follows it
        decision = verified_decision()
        assert staff({"decision_id": decision.pk}).status_code == 202
        sent = Execution.objects.get()
        [record] = node.sent
        deadline = time.monotonic() + 20
        while record["held"] == 10**6 and time.monotonic() < deadline:
            time.sleep(0.2)  # until a worker has looked at it
        assert record["held"] < 10**6
        first.kill()

        record["held"] = 1  # the next look finds it in a block
        second = Cluster(env, tmp_path / "second.log")
        second.wait_ready()
        assert fire_follow_schedule_until(lambda: Execution.objects.get().status != Execution.Status.SENT)
        sent.refresh_from_db()
        assert sent.status == Execution.Status.SUCCEEDED
        assert AllocationDecision.objects.get(pk=decision.pk).status == AllocationDecision.Status.EXECUTED
        assert [tx["hash"] for tx in node.sent] == [int(sent.tx_hash, 16)]
    finally:
        for cluster in (first, second):
            if cluster:
                cluster.stop()
