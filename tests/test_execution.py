"""Executing decisions on our RiskEngine (allocations.execution) on starknet-devnet.

Decisions are proven and verified through the real pipeline first (fake Atlantic -> the local fact
registry on devnet); the RiskEngine then recomputes the fact from the statement output it is sent and
executes only what the registry holds. Every refusal here is the contract's own, read back from devnet.
"""

import json
import logging
import time

import pytest
from starknet_py.hash.selector import get_selector_from_name
from starknet_py.net.client_models import Call

from allocations import deployment, execution, risk_engine, tasks
from allocations.models import AllocationDecision, Execution
from proofs.models import ProofJob
from proofs.selectors import accepted_verifier_configs
from proofs.statement import PublicInputs
from registry.models import ModelVersion
from tests.chain_proxy import HANG, rpc_error, status
from tests.conftest import make_token, test_database_url
from tests.devnet import STRK
from tests.fakes.cluster import Cluster
from tests.fakes.servers import dead_url
from tests.fakes.verification import drive

pytestmark = pytest.mark.django_db

EXECUTED = get_selector_from_name("AllocationExecuted")


UPSTREAM_MODEL = "2.0.0"  # the published inputs pass its policy


@pytest.fixture
def node(fakes, settings):
    """devnet with our contracts, the upstream model approved too; the application signs with the
    engine's executor account."""
    settings.INDEXER_START_BLOCK = 0
    chain = fakes.chain
    upstream = ModelVersion.objects.get(version=UPSTREAM_MODEL)
    chain.invoke(deployment.call(chain.deployed.risk_engine, "approve_model", [int(upstream.model_hash, 16)]))
    chain.nonce_at_start = account_nonce(chain)
    return chain


@pytest.fixture
def staff(api, staff_user):
    key = make_token(staff_user)

    def post(body):
        return api.post("/risk-engine/execute-allocation", body, Authorization=f"Bearer {key}")

    return post


@pytest.fixture
def verified_decision(node, decided_job):
    """A decision whose proof is verified on devnet and whose model the RiskEngine approves."""

    def make(**overrides) -> AllocationDecision:
        overrides.setdefault("model_version", UPSTREAM_MODEL)
        job = drive(decided_job(**overrides))
        assert job.status == ProofJob.Status.VERIFIED
        return AllocationDecision.objects.get(proof_job=job)

    return make


def follow(execution_id: int, rounds: int = 10) -> Execution:
    """What the worker and the schedule do: one look per round until the transaction is settled."""
    for _ in range(rounds):
        settled = execution.execution_follow(execution_id)
        if settled.status != Execution.Status.SENT:
            return settled
    return settled


def engine_call(node, function: str, *calldata: int) -> Call:
    return deployment.call(node.deployed.risk_engine, function, calldata)


def model_hash(decision: AllocationDecision) -> int:
    return int(decision.model_version.model_hash, 16)


def account_nonce(node) -> int:
    params = {"block_id": "latest", "contract_address": hex(node.executor.address)}
    return int(node.devnet.rpc("starknet_getNonce", params), 16)


def executor_sent(node) -> int:
    """Transactions of the executor's account that landed during this test (nonces carry over between tests)."""
    return account_nonce(node) - node.nonce_at_start


def executed_events(node) -> list:
    chunk = node.devnet.rpc(
        "starknet_getEvents",
        {"filter": {"address": hex(node.deployed.risk_engine), "keys": [[hex(EXECUTED)]], "chunk_size": 100,
                    "from_block": {"block_number": 0}, "to_block": "latest"}},
    )  # fmt: skip
    return chunk["events"]


def owner_acts_before_sending(monkeypatch, node, *calls: Call) -> None:
    """The owner's transaction lands between our dry run and our transaction: the chain changed under it."""
    send = risk_engine.send_execution

    async def owner_first(client, transaction, tx_hash):
        await deployment.invoke_all(node.owner, calls, poll_seconds=node.poll_seconds)
        monkeypatch.setattr(risk_engine, "send_execution", send)
        return await send(client, transaction, tx_hash)

    monkeypatch.setattr(risk_engine, "send_execution", owner_first)


def lose_on_chain(node, execution_row: Execution) -> None:
    """The block holding the transaction is aborted (a reorg): no node knows it any more."""
    receipt = node.devnet.rpc("starknet_getTransactionReceipt", {"transaction_hash": execution_row.tx_hash})
    node.devnet.abort_blocks(receipt["block_number"])


# ---------------------------------------------------------------------------------------------
# Happy path
# ---------------------------------------------------------------------------------------------


def test_a_verified_decision_is_executed_with_its_statement_and_recorded_by_the_engine(
    node, verified_decision, staff, api
):
    decision = verified_decision()
    response = staff({"decision_id": decision.pk})

    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "sent" and body["decision_status"] == "executing"
    assert body["nonce"] == node.nonce_at_start and int(body["sender"], 16) == node.executor.address

    # execute_decision(decision_id, output): the proven statement's 41 felts, whose fact was verified.
    output = PublicInputs.model_validate(decision.proof_job.public_inputs).cairo_output()
    calldata = [int(felt, 16) for felt in body["calldata"]]
    assert calldata == [decision.pk, len(output), *output]

    settled = follow(body["id"])
    assert settled.status == Execution.Status.SUCCEEDED and settled.fee
    decision.refresh_from_db()
    assert decision.status == AllocationDecision.Status.EXECUTED
    assert decision.tx_hash == settled.tx_hash and decision.block_number == settled.block_number

    # The engine recorded the allocation under the fact the proof job waited for.
    fact = int(decision.proof_job.fact_hash, 16)
    split = [decision.jediswap_pct, decision.ekubo_pct]
    assert node.view(node.deployed.risk_engine, "allocation", [decision.pk]) == [0, model_hash(decision), fact, *split]
    [event] = executed_events(node)
    assert [int(k, 16) for k in event["keys"]] == [EXECUTED, decision.pk, model_hash(decision)]
    assert [int(d, 16) for d in event["data"]] == [fact, *split]

    # The indexer sees the contract's AllocationExecuted event and confirms the decision.
    tasks.index_chain_events()
    decision.refresh_from_db()
    assert decision.status == AllocationDecision.Status.CONFIRMED

    detail = api.get(f"/risk-engine/decision/{decision.pk}").json()
    assert detail["status"] == "confirmed" and detail["tx_hash"] == decision.tx_hash
    [listed] = api.get(f"/risk-engine/decision/{decision.pk}/executions").json()
    assert listed["status"] == "succeeded" and listed["block_number"] == settled.block_number


def test_the_worker_task_follows_to_the_receipt(node, verified_decision, staff):
    decision = verified_decision()
    staff({"decision_id": decision.pk})

    assert tasks.follow_execution(Execution.objects.get().pk) == Execution.Status.SUCCEEDED


# ---------------------------------------------------------------------------------------------
# Reverts and refusals: the engine's own reasons
# ---------------------------------------------------------------------------------------------


def test_a_revert_on_chain_stores_its_reason_and_the_decision_may_go_again(
    node, verified_decision, staff, api, monkeypatch
):
    decision = verified_decision()
    # The owner revokes the model after our dry run: the transaction is included and reverts.
    owner_acts_before_sending(monkeypatch, node, engine_call(node, "revoke_model", model_hash(decision)))
    staff({"decision_id": decision.pk})
    settled = follow(Execution.objects.get().pk)

    assert settled.status == Execution.Status.REVERTED
    decision.refresh_from_db()
    assert decision.status == AllocationDecision.Status.REVERTED
    assert "MODEL_NOT_APPROVED" in decision.revert_reason and decision.block_number == settled.block_number
    detail = api.get(f"/risk-engine/decision/{decision.pk}").json()
    assert detail["revert_cause"] == "the model hash is not approved on the RiskEngine"

    node.invoke(engine_call(node, "approve_model", model_hash(decision)))
    again = staff({"decision_id": decision.pk})
    assert again.status_code == 202
    assert follow(again.json()["id"]).status == Execution.Status.SUCCEEDED
    decision.refresh_from_db()
    assert decision.status == AllocationDecision.Status.EXECUTED and decision.revert_reason == ""


def test_the_decision_page_lists_the_transactions_with_their_revert_cause(
    node, verified_decision, staff, client, monkeypatch
):
    decision = verified_decision()
    owner_acts_before_sending(monkeypatch, node, engine_call(node, "set_policy", 6000, 2, 5000, 3))
    staff({"decision_id": decision.pk})
    reverted = follow(Execution.objects.get().pk)

    page = client.get(f"/decisions/{decision.pk}/").content.decode()
    assert "Transactions on the RiskEngine" in page and reverted.tx_hash in page
    cause = "the decision was checked against another policy than the one set on the RiskEngine"
    assert page.count(cause) == 2  # the decision and its attempt


@pytest.mark.parametrize(
    ("change", "cause"),
    [
        (lambda node, d: engine_call(node, "revoke_model", model_hash(d)), "the model hash is not approved"),
        (lambda node, d: engine_call(node, "set_policy", 6000, 2, 5000, 3), "checked against another policy"),
        (lambda node, d: engine_call(node, "set_executor", node.operator.address), "not the RiskEngine's executor"),
    ],
)
def test_a_call_the_dry_run_reverts_is_refused_and_nothing_is_stored(node, verified_decision, staff, change, cause):
    decision = verified_decision()
    node.invoke(change(node, decision))
    response = staff({"decision_id": decision.pk})

    assert response.status_code == 409
    assert "would revert" in response.json()["detail"] and cause in response.json()["detail"]
    assert not Execution.objects.exists() and executor_sent(node) == 0
    decision.refresh_from_db()
    assert decision.status == AllocationDecision.Status.APPROVED


def test_a_fact_the_registry_does_not_hold_is_refused_by_the_engine(node, verified_decision, staff, settings):
    decision = verified_decision()
    # Another engine, same settings, reading a registry that holds nothing: the fact is the whole check.
    fresh = deployment.deploy_call(node.owner, deployment.class_hash("LocalFactRegistry"), [node.operator.address])
    engine = deployment.deploy_call(
        node.owner,
        deployment.class_hash("RiskEngine"),
        [node.operator.address, node.executor.address, fresh[1],
         int(decision.proof_job.program_hash, 16), settings.INTEGRITY_MIN_SECURITY_BITS],
    )  # fmt: skip
    setup = deployment.engine_setup_calls(
        engine[1],
        verifier_configs=accepted_verifier_configs(),
        model_hashes=[model_hash(decision)],
        policy=decision.policy.terms,
    )
    node.invoke(fresh[0], engine[0], *setup)
    settings.RISK_ENGINE_ADDRESS = hex(engine[1])

    response = staff({"decision_id": decision.pk})
    assert response.status_code == 409 and "holds no verification of this decision's fact" in response.json()["detail"]


def test_a_second_execution_of_a_decision_is_refused_by_the_engine(node, verified_decision, staff):
    decision = verified_decision()
    staff({"decision_id": decision.pk})
    assert follow(Execution.objects.get().pk).status == Execution.Status.SUCCEEDED
    # Our records lose the execution (a restored backup): the chain still refuses a second one.
    AllocationDecision.objects.filter(pk=decision.pk).update(status=AllocationDecision.Status.APPROVED)

    response = staff({"decision_id": decision.pk})
    assert response.status_code == 409
    assert "has executed this decision already" in response.json()["detail"]
    assert len(executed_events(node)) == 1


def test_the_same_statement_cannot_fund_a_second_decision(node, verified_decision, staff):
    first, twin = verified_decision(), verified_decision()  # same inputs, model and policy: one statement
    assert first.proof_job.fact_hash == twin.proof_job.fact_hash
    staff({"decision_id": first.pk})
    follow(Execution.objects.get().pk)

    response = staff({"decision_id": twin.pk})
    assert response.status_code == 409 and "with this very statement already" in response.json()["detail"]


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
    unproven = AllocationDecision.objects.get(proof_job=decided_job(model_version=UPSTREAM_MODEL))

    cases = {
        "unknown": ({"decision_id": 999_999}, 404, "no decision 999999"),
        "rejected": ({"decision_id": rejected.pk}, 409, "breaks policy"),
        "unproven": ({"decision_id": unproven.pk}, 409, "no proof verified on Starknet"),
        "executing": ({"decision_id": executed.pk}, 409, "is executing"),
    }
    for name, (body, expected, detail) in cases.items():
        response = staff(body)
        assert response.status_code == expected, name
        assert detail in json.dumps(response.json()), name
    assert executor_sent(node) == 1


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
    assert executor_sent(node) == 0


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
    settings.STARKNET_RPC_URLS = [dead_url(), node.devnet.url]

    assert staff({"decision_id": decision.pk}).status_code == 202
    settled = follow(Execution.objects.get().pk)
    assert settled.status == Execution.Status.SUCCEEDED and settled.node == node.devnet.url


def test_no_node_answering_is_503_and_leaves_the_decision_as_it_was(node, verified_decision, staff, settings):
    decision = verified_decision()
    settings.STARKNET_RPC_URLS = [dead_url()]

    response = staff({"decision_id": decision.pk})
    assert response.status_code == 503 and "no Starknet node answered" in response.json()["detail"]
    decision.refresh_from_db()
    assert decision.status == AllocationDecision.Status.APPROVED and not Execution.objects.exists()


def test_a_node_failing_at_send_fails_over_and_the_transaction_lands_once(node, verified_decision, staff, settings, chain_proxy):
    """The first node answers 503 to the send (the request may or may not have reached it): the next node
    takes the same signed transaction, and following it finds one transaction landed."""
    decision = verified_decision()
    chain_proxy.fail(status(503), method="starknet_addInvokeTransaction")
    settings.STARKNET_RPC_URLS = [chain_proxy.url, node.devnet.url]

    assert staff({"decision_id": decision.pk}).status_code == 202
    settled = follow(Execution.objects.get().pk)
    assert settled.status == Execution.Status.SUCCEEDED
    assert executor_sent(node) == 1 and len(executed_events(node)) == 1


def test_a_rate_limited_node_and_a_hanging_one_are_passed_over(node, verified_decision, staff, settings, chain_proxies):
    decision = verified_decision()
    settings.STARKNET_RPC_TIMEOUT = 1
    limited, hanging = chain_proxies(), chain_proxies(hang_seconds=3)
    limited.fail(status(429, retry_after=30), times=None)
    hanging.fail(HANG, times=None)
    settings.STARKNET_RPC_URLS = [limited.url, hanging.url, node.devnet.url]

    assert staff({"decision_id": decision.pk}).status_code == 202
    settled = follow(Execution.objects.get().pk)
    assert settled.status == Execution.Status.SUCCEEDED and settled.node == node.devnet.url


def test_a_node_refusing_the_transaction_drops_the_attempt_and_frees_the_decision(
    node, verified_decision, staff, settings, chain_proxy
):
    """A refusal is the node's answer, not network trouble: no other node is tried and nothing lands."""
    decision = verified_decision()
    chain_proxy.fail(rpc_error("VALIDATION_FAILURE"), method="starknet_addInvokeTransaction")
    settings.STARKNET_RPC_URLS = [chain_proxy.url, node.devnet.url]

    response = staff({"decision_id": decision.pk})
    assert response.status_code == 409 and "Account validation failed" in response.json()["detail"]
    dropped = Execution.objects.get()
    assert dropped.status == Execution.Status.DROPPED and "Account validation failed" in dropped.error
    assert AllocationDecision.objects.get(pk=decision.pk).status == AllocationDecision.Status.APPROVED
    assert executor_sent(node) == 0


def test_a_transaction_a_reorg_dropped_is_resent_as_the_same_transaction(node, verified_decision, staff):
    decision = verified_decision()
    staff({"decision_id": decision.pk})
    sent = Execution.objects.get()
    lose_on_chain(node, sent)

    settled = follow(sent.pk)
    assert settled.status == Execution.Status.SUCCEEDED and settled.sends == 2 and settled.tx_hash == sent.tx_hash
    assert executor_sent(node) == 1 and len(executed_events(node)) == 1


def test_a_resend_of_a_transaction_the_node_has_is_answered_59_and_counts_as_sent(node, verified_decision, staff):
    decision = verified_decision()
    staff({"decision_id": decision.pk})
    sent = Execution.objects.get()

    # A worker that lost track of the answer sends the stored transaction again.
    assert execution._send(sent) == ""
    sent.refresh_from_db()
    assert sent.status == Execution.Status.SENT and "(code 59)" in sent.error
    assert staff({"decision_id": decision.pk}).status_code == 409

    assert follow(sent.pk).status == Execution.Status.SUCCEEDED
    assert len(executed_events(node)) == 1 and Execution.objects.count() == 1


def test_a_lost_transaction_whose_nonce_another_used_never_lands_and_the_decision_goes_again(
    node, verified_decision, staff
):
    decision = verified_decision()
    staff({"decision_id": decision.pk})
    lost = Execution.objects.get()
    lose_on_chain(node, lost)
    # Another transaction of the executor's account takes the nonce first.
    node.invoke(Call(STRK, get_selector_from_name("transfer"), [node.operator.address, 1, 0]), as_executor=True)

    assert execution.execution_follow(lost.pk).status == Execution.Status.DROPPED
    lost.refresh_from_db()
    assert f"nonce {node.nonce_at_start} was used by another transaction" in lost.error
    decision.refresh_from_db()
    assert decision.status == AllocationDecision.Status.APPROVED

    again = staff({"decision_id": decision.pk}).json()
    assert again["nonce"] == node.nonce_at_start + 1 and follow(again["id"]).status == Execution.Status.SUCCEEDED
    assert len(executed_events(node)) == 1


def test_a_transaction_no_node_knows_past_the_timeout_is_given_up(node, verified_decision, staff, settings):
    decision = verified_decision()
    staff({"decision_id": decision.pk})
    lost = Execution.objects.get()
    lose_on_chain(node, lost)
    settings.EXECUTION_TIMEOUT = 0

    settled = execution.execution_follow(lost.pk)
    assert settled.status == Execution.Status.DROPPED and "no node knew the transaction" in settled.error
    decision.refresh_from_db()
    assert decision.status == AllocationDecision.Status.APPROVED


def test_the_schedule_follows_open_transactions_and_frees_abandoned_claims(node, verified_decision, staff):
    decision = verified_decision()
    staff({"decision_id": decision.pk})
    abandoned = verified_decision(apys={"jediswap": 900, "ekubo": 1210})
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
    key = node.executor.private_key
    spellings = {hex(key), f"{key:x}", f"{key:064x}", str(key)}
    decision = verified_decision()
    reverting = verified_decision(apys={"jediswap": 900, "ekubo": 1210})
    unreachable = verified_decision(apys={"jediswap": 880, "ekubo": 1210})
    answers = [staff({"decision_id": decision.pk}).content.decode()]
    follow(Execution.objects.get().pk)
    node.invoke(engine_call(node, "revoke_model", model_hash(reverting)))
    answers.append(staff({"decision_id": reverting.pk}).content.decode())  # a dry-run revert
    settings.STARKNET_RPC_URLS = [dead_url()]
    answers.append(staff({"decision_id": unreachable.pk}).content.decode())  # no node

    records = json.dumps(list(Execution.objects.values()), default=str)
    records += json.dumps(list(AllocationDecision.objects.values()), default=str)
    for text in (caplog.text, *answers, records, repr(execution.operator_account())):
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

    lose_on_chain(node, Execution.objects.get())  # the block with AllocationExecuted is aborted
    node.devnet.rpc("devnet_createBlock")
    tasks.index_chain_events()
    assert AllocationDecision.objects.get(pk=decision.pk).status == AllocationDecision.Status.EXECUTED


# devnet 0.10.1's revert text (a receipt's revert_reason and the innermost error of a failed fee
# estimate both end so) for an execute_decision that panicked with FACT_NOT_REGISTERED.
DEVNET_REVERT = (
    "Transaction execution has failed:\n0: Error in the called contract (contract address: 0x01bf43, class hash: "
    "0x05b4b5, selector: 0x015d40):\nExecution failed. Failure reason:\nError in contract (contract address: "
    "0x01bf43, class hash: 0x05b4b5, selector: 0x015d40):\nError in contract (contract address: 0x03281f, class "
    "hash: 0x0223d4, selector: 0x03445b):\n0x464143545f4e4f545f52454749535445524544 ('FACT_NOT_REGISTERED').\n"
)


@pytest.mark.parametrize(
    ("reason", "cause"),
    [
        (DEVNET_REVERT, "the fact registry holds no verification of this decision's fact"),
        ("Failure reason:\n0x4f4e4c595f4558454355544f52 ('ONLY_EXECUTOR').\n", "the account is not the RiskEngine's executor"),
        ("Failure reason:\n0x496e707574 ('Input').", "Input"),  # another contract's panic, as it is
        ("Failure reason: 0x1b ('').", ""),
        ("out of gas", ""),
    ],
)
def test_revert_causes_are_read_from_the_innermost_panic(reason, cause):
    assert risk_engine.revert_cause(reason) == cause


# ---------------------------------------------------------------------------------------------
# Through a real django-q2 worker
# ---------------------------------------------------------------------------------------------


def fire_follow_schedule_until(condition, timeout=30) -> bool:
    """Fires allocations.follow_executions through django-q2's own scheduler until ``condition``."""
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
        "STARKNET_RPC_TIMEOUT": "2",
        "STARKNET_ACCOUNT_ADDRESS": hex(node.executor.address),
        "STARKNET_ACCOUNT_PRIVATE_KEY": hex(node.executor.private_key),
        "EXECUTION_POLL_SECONDS": "0.2",
        "DATABASE_URL": test_database_url(),
    }
    # The first worker's node is unreachable: it follows without ever seeing the transaction.
    first = Cluster(env | {"STARKNET_RPC_URLS": dead_url()}, tmp_path / "first.log")
    second = None
    try:
        first.wait_ready()
        decision = verified_decision()
        assert staff({"decision_id": decision.pk}).status_code == 202
        sent = Execution.objects.get()
        deadline = time.monotonic() + 20
        while "no node answered" not in Execution.objects.get().error and time.monotonic() < deadline:
            time.sleep(0.2)  # until the first worker has looked at it
        assert "following: no node answered" in Execution.objects.get().error
        first.kill()

        second = Cluster(env | {"STARKNET_RPC_URLS": node.devnet.url}, tmp_path / "second.log")
        second.wait_ready()
        assert fire_follow_schedule_until(lambda: Execution.objects.get().status != Execution.Status.SENT)
        sent.refresh_from_db()
        assert sent.status == Execution.Status.SUCCEEDED
        landed = {AllocationDecision.Status.EXECUTED, AllocationDecision.Status.CONFIRMED}  # its indexer may be first
        assert AllocationDecision.objects.get(pk=decision.pk).status in landed
        assert executor_sent(node) == 1 and len(executed_events(node)) == 1
    finally:
        for cluster in (first, second):
            if cluster:
                cluster.stop()
