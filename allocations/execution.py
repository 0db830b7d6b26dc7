"""Executing stored decisions on the RiskEngine and following their transactions to a receipt.

A decision is executed at most once at a time: it is claimed (status executing) under a row lock,
its transaction is signed and stored as an Execution, and only then sent. Followers (the worker
task right after sending, then the schedule) look at the transaction by hash: a receipt settles it,
a transaction no node knows is resent as is until its nonce is used by another transaction or
EXECUTION_TIMEOUT passes, and then it never landed and the decision can be executed again. A node's
refusal of a resend never frees the decision by itself: 59 (already in its mempool) means sent, and
after 52 (nonce) the status of our own hash decides, so a decision is never executed twice.
"""

import logging
import os
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_q.tasks import async_task

from obsqra.errors import Conflict, DomainError, NotFound
from proofs.models import ProofJob
from proofs.statement import PublicInputs

from . import chain, risk_engine
from .models import AllocationDecision, Execution
from .risk import felt_hex

logger = logging.getLogger(__name__)

Status = AllocationDecision.Status
EXECUTABLE = frozenset({Status.APPROVED, Status.REVERTED})  # a reverted execution did nothing: it may go again
CLAIM_TIMEOUT = timedelta(minutes=5)  # a claim with no transaction behind it after this was abandoned


class ExecutionUnavailable(DomainError):
    status_code = 503


class NotExecutable(Conflict):
    pass


def operator_account() -> risk_engine.OperatorAccount:
    """The account that signs, from the environment only; execution is off without it."""
    address, key = settings.STARKNET_ACCOUNT_ADDRESS, os.environ.get("STARKNET_ACCOUNT_PRIVATE_KEY", "")
    if not (address and key and settings.RISK_ENGINE_ADDRESS):
        raise ExecutionUnavailable(
            "execution is off: set STARKNET_ACCOUNT_ADDRESS, STARKNET_ACCOUNT_PRIVATE_KEY and RISK_ENGINE_ADDRESS"
        )
    try:
        return risk_engine.OperatorAccount.parse(address, key)
    except ValueError as exc:
        raise ExecutionUnavailable(str(exc)) from None


def execution_enabled() -> bool:
    try:
        operator_account()
    except ExecutionUnavailable:
        return False
    return True


def _why_not_executable(decision: AllocationDecision) -> str:
    if not decision.constraints_passed:
        return f"decision {decision.pk} breaks policy {decision.policy.name}: {', '.join(decision.violated_rules)}"
    if decision.status not in EXECUTABLE:
        return f"decision {decision.pk} is {decision.status}"
    job = decision.proof_job
    if job is None or job.status != ProofJob.Status.VERIFIED:
        status = job.status if job else "none"
        return f"decision {decision.pk} has no proof verified on Starknet yet (proof status: {status})"
    return ""


def _claim(decision_id: int) -> tuple[AllocationDecision, str]:
    with transaction.atomic():
        decision = (
            AllocationDecision.objects.select_for_update(of=("self",))
            .select_related("proof_job", "policy", "model_version", "jediswap_snapshot", "ekubo_snapshot")
            .filter(pk=decision_id)
            .first()
        )
        if decision is None:
            raise NotFound(f"no decision {decision_id}", field=("decision_id",))
        if reason := _why_not_executable(decision):
            raise NotExecutable(reason)
        previous = decision.status
        decision.status = Status.EXECUTING
        decision.save(update_fields=["status", "updated_at"])
    return decision, previous


def _release(decision: AllocationDecision, status: str) -> None:
    AllocationDecision.objects.filter(pk=decision.pk, status=Status.EXECUTING).update(
        status=status, updated_at=timezone.now()
    )


def _decision_call(decision: AllocationDecision) -> risk_engine.DecisionCall:
    """The proven statement's output, rebuilt from the proof's public inputs: the RiskEngine recomputes
    from it the very fact that was verified on chain."""
    public_inputs = PublicInputs.model_validate(decision.proof_job.public_inputs)
    return risk_engine.DecisionCall(
        risk_engine=int(settings.RISK_ENGINE_ADDRESS, 16),
        decision_id=decision.pk,
        output=public_inputs.cairo_output(),
    )


def _on_chain(read):
    return chain.read_with_failover(read, rpc_urls=settings.STARKNET_RPC_URLS, timeout=settings.STARKNET_RPC_TIMEOUT)


def execution_start(*, decision_id: int) -> Execution:
    """Signs, stores and sends the decision's transaction; the receipt is followed in the background.

    Refused before anything is stored: an unknown decision (404), one that is not executable (409),
    a call the node's dry run reverts (409, with its reason), no account or no node (503).
    """
    account = operator_account()
    decision, previous = _claim(decision_id)
    try:
        signed, node = _on_chain(lambda client: risk_engine.sign_execution(client, account, _decision_call(decision)))
    except Exception as exc:
        _release(decision, previous)
        if isinstance(exc, risk_engine.WouldRevert):
            cause = risk_engine.revert_cause(exc.reason)
            raise NotExecutable(f"the RiskEngine would revert{f' ({cause})' if cause else ''}: {exc.reason}") from None
        if isinstance(exc, chain.ChainUnavailable):
            raise ExecutionUnavailable(f"no Starknet node answered: {exc}") from None
        raise
    with transaction.atomic():
        execution = Execution.objects.create(
            decision=decision,
            tx_hash=felt_hex(signed.tx_hash),
            sender=felt_hex(signed.sender),
            nonce=signed.nonce,
            calldata=[felt_hex(felt) for felt in signed.calldata],
            transaction=signed.transaction,
            node=node,
        )
        AllocationDecision.objects.filter(pk=decision.pk).update(revert_reason="", updated_at=timezone.now())
    logger.info("decision %s: sending %s with nonce %s", decision.pk, execution.tx_hash, execution.nonce)
    if refusal := _send(execution):
        raise NotExecutable(f"the node refused the transaction: {refusal}")
    async_task("allocations.tasks.follow_execution", execution.pk)
    return execution


def _send(execution: Execution) -> str:
    """Hands the stored signed transaction to a node; the node's reason when the attempt ended dropped.

    A refusal that may hide a transaction which landed or will land never drops it: 59 (the node has
    it already) means it was sent; 52 (nonce) means the status of our own hash decides.
    """
    try:
        _, node = _on_chain(
            lambda client: risk_engine.send_execution(client, execution.transaction, int(execution.tx_hash, 16))
        )
    except chain.ChainUnavailable as exc:
        # Maybe sent, maybe not: the follower asks by hash and resends.
        Execution.objects.filter(pk=execution.pk).update(error=f"sending: no node answered: {exc}")
        return ""
    except risk_engine.AlreadyReceived as exc:
        Execution.objects.filter(pk=execution.pk).update(error=f"already with the node, following it: {exc}")
        return ""
    except risk_engine.NonceRefused as exc:
        return _after_nonce_refusal(execution, str(exc))
    except risk_engine.Refused as exc:
        _drop(execution, f"refused by the node: {exc}")
        return str(exc)
    Execution.objects.filter(pk=execution.pk).update(sends=F("sends") + 1, node=node, error="")
    return ""


def _after_nonce_refusal(execution: Execution, reason: str) -> str:
    """Our own transaction may be what used the nonce: its status settles it, never the refusal alone."""
    try:
        progress, node = _read_progress(execution)
    except chain.ChainUnavailable as exc:
        Execution.objects.filter(pk=execution.pk).update(error=f"{reason}; its status: no node answered: {exc}")
        return ""
    _settle(execution, progress, node, resend=False, note=reason)
    execution.refresh_from_db()
    return execution.error if execution.status == Execution.Status.DROPPED else ""


def _read_progress(execution: Execution) -> tuple[risk_engine.Progress, str]:
    return _on_chain(
        lambda client: risk_engine.read_progress(
            client, tx_hash=int(execution.tx_hash, 16), sender=int(execution.sender, 16)
        )
    )


def _settle(execution: Execution, progress: risk_engine.Progress, node: str, *, resend: bool, note: str = "") -> None:
    """What one look at the transaction means: landed, never landing (dropped), or still to follow."""
    if progress.state in ("succeeded", "reverted"):
        _land(execution, progress, node)
    elif progress.state == "unknown":
        age = timezone.now() - execution.created_at
        if progress.account_nonce > execution.nonce:
            _drop(execution, f"nonce {execution.nonce} was used by another transaction of the account")
        elif age > timedelta(seconds=settings.EXECUTION_TIMEOUT):
            # Its nonce is still free: whatever executes the decision next takes it, so at most one lands.
            _drop(execution, f"no node knew the transaction {age.total_seconds():.0f} s after it was signed")
        elif resend:
            _send(execution)
        elif note:
            Execution.objects.filter(pk=execution.pk).update(error=f"{note}; no node knows it yet: following it")


def _drop(execution: Execution, reason: str) -> None:
    with transaction.atomic():
        Execution.objects.filter(pk=execution.pk).update(
            status=Execution.Status.DROPPED, error=reason, finished_at=timezone.now()
        )
        _release(execution.decision, Status.APPROVED)
    logger.warning("execution %s never landed: %s", execution.tx_hash, reason)


def _land(execution: Execution, progress: risk_engine.Progress, node: str) -> None:
    reverted = progress.state == "reverted"
    execution.status = Execution.Status.REVERTED if reverted else Execution.Status.SUCCEEDED
    execution.block_number = progress.block_number
    execution.block_hash = felt_hex(progress.block_hash) if progress.block_hash is not None else ""
    execution.fee = str(progress.fee or "")
    execution.revert_reason = progress.revert_reason
    execution.node, execution.error, execution.finished_at = node, "", timezone.now()
    execution.save()
    # The indexer may have confirmed it already; a confirmation stays.
    AllocationDecision.objects.filter(pk=execution.decision_id).exclude(status=Status.CONFIRMED).update(
        status=Status.REVERTED if reverted else Status.EXECUTED,
        tx_hash=execution.tx_hash,
        block_number=progress.block_number,
        revert_reason=progress.revert_reason,
        updated_at=timezone.now(),
    )
    if reverted:
        logger.warning("execution %s reverted: %s", execution.tx_hash, progress.revert_reason)


def execution_follow(execution_id: int) -> Execution:
    """One look at a sent transaction. A row another follower holds is left to it."""
    with transaction.atomic():
        execution = (
            Execution.objects.select_for_update(skip_locked=True)
            .select_related("decision")
            .filter(pk=execution_id, status=Execution.Status.SENT)
            .first()
        )
        if execution is None:
            return Execution.objects.get(pk=execution_id)
        try:
            progress, node = _read_progress(execution)
        except chain.ChainUnavailable as exc:
            execution.error = f"following: no node answered: {exc}"
            execution.save(update_fields=["error"])
            return execution
        _settle(execution, progress, node, resend=True)
        execution.refresh_from_db()
        return execution


def execution_wait(execution_id: int, *, seconds: float) -> Execution:
    """Follows a transaction for up to ``seconds``; what is still open is left to the schedule."""
    deadline = time.monotonic() + seconds
    while True:
        execution = execution_follow(execution_id)
        if execution.status != Execution.Status.SENT or time.monotonic() >= deadline:
            return execution
        time.sleep(settings.EXECUTION_POLL_SECONDS)


def executions_follow_open() -> dict[str, int]:
    """The schedule's round: one look at every sent transaction, and claims abandoned before signing."""
    open_ids = list(Execution.objects.filter(status=Execution.Status.SENT).values_list("pk", flat=True))
    statuses = [execution_follow(pk).status for pk in open_ids]
    abandoned = (
        AllocationDecision.objects.filter(status=Status.EXECUTING, updated_at__lt=timezone.now() - CLAIM_TIMEOUT)
        .exclude(executions__status=Execution.Status.SENT)
        .update(status=Status.APPROVED, updated_at=timezone.now())
    )
    return {"followed": len(statuses), "still_open": statuses.count(Execution.Status.SENT), "released": abandoned}
