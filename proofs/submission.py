"""Services of the verification flow: Cairo statement, prover service, Integrity check, webhook.

generated -> submitted (remote query id stored in the same transaction) -> verifying (the service
works on it) -> verified (only once the chain holds an acceptable verification of our fact), or
failed / timeout. Every status change goes through services.proof_job_transition. Retryable
trouble (network, 5xx, malformed answers, a fact not on chain yet) is kept as a note on the job
and pushes next_poll_at back; one durable django-q2 schedule (proofs.tasks.poll_verifications)
picks due jobs, so a killed worker loses nothing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_q.tasks import async_task

from allocations.risk import felt_hex

from . import cairo_statement, integrity, l1_facts, provenance, services, webhooks
from .local_registrar import LocalFactRegistrar
from .models import ProofJob
from .prover_service import (
    AtlanticClient,
    ProverService,
    ProverServiceError,
    RemoteStatus,
    RetryableProverServiceError,
    SharpGatewayClient,
)
from .selectors import accepted_verifier_configs
from .statement import PublicInputs

Status = ProofJob.Status
logger = logging.getLogger(__name__)

ACTIVE = (Status.GENERATED, Status.SUBMITTED, Status.VERIFYING)
MAX_NOTES = 50


class StatementMismatch(Exception):
    """The Cairo program's output is not the STARK's public inputs."""


def prover_service(name: str | None = None) -> ProverService | None:
    name = settings.PROVER_SERVICE if name is None else name
    if name == "atlantic":
        return AtlanticClient(
            base_url=settings.ATLANTIC_URL,
            api_key=settings.ATLANTIC_API_KEY,
            network=settings.ATLANTIC_NETWORK,
            job_size=settings.ATLANTIC_JOB_SIZE,
            timeout=settings.PROVER_HTTP_TIMEOUT,
        )
    if name == "sharp":
        return SharpGatewayClient(base_url=settings.SHARP_GATEWAY_URL, timeout=settings.PROVER_HTTP_TIMEOUT)
    if name == "local":
        return LocalFactRegistrar()
    if name:
        raise ValueError(f"unknown PROVER_SERVICE {name!r} (atlantic, sharp, local or empty)")
    return None


def submission_key(program_hash: int, output: list[int]) -> str:
    data = b"".join(x.to_bytes(32, "big") for x in [program_hash, *output])
    return hashlib.sha256(data).hexdigest()


def after_generation(job: ProofJob) -> None:
    """Hook of services._prove: queue the Cairo run, and with a prover service configured the submission.

    next_poll_at is set with the generation, so the poll schedule submits the job even if the
    queued task is lost.
    """
    if job.status != Status.GENERATED:
        return
    if not settings.PROVER_SERVICE:
        # The decision's bundle needs the Cairo PIE: made in the background, so pages can show the bundle hash.
        transaction.on_commit(lambda job_id=str(job.pk): async_task("proofs.tasks.run_cairo_statement", job_id))
        return
    ProofJob.objects.filter(pk=job.pk).update(next_poll_at=timezone.now())
    transaction.on_commit(lambda job_id=str(job.pk): async_task("proofs.tasks.submit_job", job_id))


def cairo_statement_run(job: ProofJob) -> ProofJob:
    """Runs the Cairo statement of the job and stores its hashes and PIE; the output must be the STARK's."""
    public_inputs = PublicInputs.model_validate(job.public_inputs)
    p = public_inputs
    started = time.perf_counter()
    run = cairo_statement.run_decision(p.parameters, p.jediswap_metrics, p.ekubo_metrics, p.apys, p.policy)
    elapsed = timedelta(seconds=time.perf_counter() - started)
    if run.output != public_inputs.cairo_output():
        raise StatementMismatch("the Cairo program's output differs from the STARK public inputs")
    job.program_hash = felt_hex(run.program_hash)
    # Atlantic proves the PIE under the SHARP bootloader: this is the fact it registers in Integrity.
    job.fact_hash = felt_hex(run.integrity_fact_hash)
    job.sharp_fact_hash = felt_hex(run.sharp_fact_hash)
    job.cairo_pie = run.cairo_pie_bytes
    job.cairo_steps = run.n_steps
    job.cairo_time = elapsed
    job.submission_key = submission_key(run.program_hash, run.output)
    job.software = {**job.software, **provenance.cairo_software()}
    job.save(
        update_fields=[
            "program_hash", "fact_hash", "sharp_fact_hash", "cairo_pie", "cairo_steps", "cairo_time",
            "submission_key", "software", "updated_at",
        ]
    )  # fmt: skip
    return job


def cairo_statement_ensure(job_id) -> ProofJob | None:
    """The job of a stored decision with its Cairo run stored: made now, under the row lock, unless already made."""
    with transaction.atomic():
        job = ProofJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or not job.proof or not hasattr(job, "decision"):
            return job
        if not job.cairo_pie:
            cairo_statement_run(job)
        return job


def _note(job: ProofJob, reason: str, *, delay: float) -> None:
    """Keeps a retryable failure on the job (all of them, bounded) and pushes the next try back."""
    now = timezone.now()
    job.poll_failures += 1
    job.last_poll_error = reason
    job.poll_notes = [*job.poll_notes, {"at": now.isoformat(), "reason": reason}][-MAX_NOTES:]
    job.next_poll_at = now + timedelta(seconds=delay)
    job.save(update_fields=["poll_failures", "last_poll_error", "poll_notes", "next_poll_at", "updated_at"])
    logger.info("proof job %s: %s (next try in %.1fs)", job.pk, reason, delay)


def _backoff(failures: int) -> float:
    return min(settings.PROOF_POLL_SECONDS * 2 ** min(failures, 16), settings.PROOF_RETRY_MAX_SECONDS)


def _locked(job_id) -> ProofJob | None:
    """The job, locked, if no other worker holds it; callers run inside a transaction."""
    return ProofJob.objects.select_for_update(skip_locked=True).filter(pk=job_id).first()


def submit_to_prover_service(job_id) -> ProofJob | None:
    """Cairo run (once), then one submission; safe to run twice and from several workers."""
    service = prover_service()
    if service is None:
        return None
    with transaction.atomic():
        job = _locked(job_id)
        if job is None or job.status != Status.GENERATED:
            return job
        if not hasattr(job, "decision"):
            # A proof without a decision (POST /proofs/generate) is not worth a paid query.
            ProofJob.objects.filter(pk=job.pk).update(next_poll_at=None)
            return job
        if not job.cairo_pie:
            try:
                cairo_statement_run(job)
            except (cairo_statement.CairoStatementError, StatementMismatch, ValueError) as exc:
                return services.proof_job_transition(
                    job, Status.FAILED, detail=f"Cairo statement: {exc}", next_poll_at=None
                )
        # Same statement already with a service: follow that query rather than paying for a second one.
        twin = (
            ProofJob.objects.filter(submission_key=job.submission_key, status__in=[*ACTIVE[1:], Status.VERIFIED])
            .exclude(pk=job.pk)
            .exclude(remote_job_id="")
            .first()
        )
        if twin is not None:
            return services.proof_job_transition(
                job,
                Status.SUBMITTED,
                detail=f"same statement as job {twin.pk}: following {twin.prover_service} query {twin.remote_job_id}",
                remote_job_id=twin.remote_job_id,
                prover_service=twin.prover_service,
                next_poll_at=timezone.now(),
            )
        job.submit_attempts += 1
        job.save(update_fields=["submit_attempts", "updated_at"])
        try:
            # A query made under our key (a submit whose answer was lost) is followed, never paid twice.
            existing = service.find(job.submission_key)
            if existing is not None and existing.status != RemoteStatus.FAILED:
                remote_id, how = existing.remote_id, f"{service.name} query {existing.remote_id} (found by its dedupId)"
            else:
                remote_id = service.submit(
                    cairo_pie=bytes(job.cairo_pie), layout=cairo_statement.LAYOUT, dedup_id=job.submission_key
                )
                how = f"{service.name} query {remote_id}"
        except RetryableProverServiceError as exc:
            if job.submit_attempts >= settings.PROOF_SUBMIT_MAX_ATTEMPTS:
                return services.proof_job_transition(
                    job, Status.FAILED, detail=f"submission failed {job.submit_attempts} times, last: {exc}",
                    next_poll_at=None,
                )  # fmt: skip
            # The next round looks the query up by its dedupId before sending anything again.
            doubt = " (the service may have created the query: it is looked up by dedupId first)"
            doubt = doubt if exc.maybe_processed else ""
            _note(job, f"submit: {exc}{doubt}", delay=_backoff(job.poll_failures))
            return job
        except ProverServiceError as exc:
            return services.proof_job_transition(
                job, Status.FAILED, detail=f"submission refused: {exc}", next_poll_at=None
            )
        # The query id is committed together with the status: a crash after this loses nothing.
        return services.proof_job_transition(
            job,
            Status.SUBMITTED,
            detail=how,
            remote_job_id=remote_id,
            prover_service=service.name,
            next_poll_at=timezone.now() + timedelta(seconds=settings.PROOF_POLL_SECONDS),
        )


def _verification_deadline(job: ProofJob):
    return job.submitted_at + timedelta(seconds=settings.PROOF_VERIFICATION_TIMEOUT)


def poll_verification(job_id) -> ProofJob | None:
    """One look at a submitted job: the service's answer, then (when it is done) the chain."""
    with transaction.atomic():
        job = _locked(job_id)
        if job is None or job.status not in (Status.SUBMITTED, Status.VERIFYING):
            return job
        if timezone.now() > _verification_deadline(job):
            return services.proof_job_transition(
                job,
                Status.TIMEOUT,
                detail=f"not verified within {settings.PROOF_VERIFICATION_TIMEOUT:g}s of submission"
                + (f"; last problem: {job.last_poll_error}" if job.last_poll_error else ""),
                next_poll_at=None,
            )
        service = prover_service(job.prover_service)
        try:
            answer = service.poll(job.remote_job_id)
        except RetryableProverServiceError as exc:
            _note(job, f"poll: {exc}", delay=_backoff(job.poll_failures))
            return job
        except ProverServiceError as exc:
            return services.proof_job_transition(job, Status.FAILED, detail=f"poll refused: {exc}", next_poll_at=None)
        job.remote_status = answer.raw_status
        job.save(update_fields=["remote_status", "updated_at"])
        if answer.status == RemoteStatus.FAILED:
            reason = answer.error_reason or "no reason given"
            return services.proof_job_transition(
                job, Status.FAILED, detail=f"{job.prover_service} failed: {reason}", next_poll_at=None
            )
        if mismatch := _reported_mismatch(job, answer):
            return services.proof_job_transition(job, Status.FAILED, detail=mismatch, next_poll_at=None)
        if answer.status == RemoteStatus.DONE:
            return _check_chain(job)
        next_poll = timezone.now() + timedelta(seconds=settings.PROOF_POLL_SECONDS)
        if answer.status == RemoteStatus.IN_PROGRESS and job.status == Status.SUBMITTED:
            return services.proof_job_transition(
                job, Status.VERIFYING, detail=f"{job.prover_service}: {answer.raw_status}", next_poll_at=next_poll
            )
        job.next_poll_at = next_poll
        job.save(update_fields=["next_poll_at", "updated_at"])
        return job


def _integrity_check(fact_hash: int) -> integrity.FactCheck:
    return integrity.check_fact(
        fact_hash,
        rpc_urls=settings.STARKNET_RPC_URLS,
        registry=int(settings.INTEGRITY_FACT_REGISTRY_ADDRESS, 16),
        min_security_bits=settings.INTEGRITY_MIN_SECURITY_BITS,
        accepted_configs=accepted_verifier_configs(),
        timeout=settings.STARKNET_RPC_TIMEOUT,
    )


def _reported_mismatch(job: ProofJob, answer) -> str:
    """Atlantic proving another program or registering another fact than ours: the job can never verify."""
    for what, theirs, ours in (
        ("program hash mismatch: Atlantic proved program", answer.program_hash, job.program_hash),
        ("fact mismatch: Atlantic registered", answer.integrity_fact_hash, job.fact_hash),
    ):
        try:
            differs = bool(theirs) and int(theirs, 16) != int(ours, 16)
        except ValueError:
            differs = True
        if differs:
            return f"{what} {theirs}, ours is {ours}"
    return ""


def _check_chain(job: ProofJob) -> ProofJob:
    """verified only with an acceptable verification of our fact on chain; else note or fail."""
    if job.prover_service == "sharp":
        return _check_l1(job)
    try:
        check = _integrity_check(int(job.fact_hash, 16))
    except (integrity.ChainUnavailable, integrity.MalformedAnswer) as exc:
        _note(job, f"chain check: {exc}", delay=_backoff(job.poll_failures))
        return job
    if check.verified:
        accepted = check.accepted
        job = services.proof_job_transition(
            job,
            Status.VERIFIED,
            detail=(
                f"Integrity verification {accepted.verification_hash:#x} at block {check.block_number}"
                f" ({check.node_url})"
            ),
            verification_hash=felt_hex(accepted.verification_hash),
            verifier_config={**accepted.as_dict()["verifier_config"], "security_bits": accepted.security_bits},
            verified_block=check.block_number,
            # Due for its webhook; the poll schedule retries a delivery that fails.
            next_poll_at=timezone.now() if settings.VERIFICATION_WEBHOOK_URL else None,
        )
        transaction.on_commit(lambda job_id=str(job.pk): webhooks.webhook_enqueue(job_id))
        return job
    if check.rejected:
        # Anyone may register a weak verification of any fact: it must not sink the job, so the
        # reasons are kept and polling goes on until an acceptable one appears or the job times out.
        reasons = "; ".join(f"{v.verification_hash:#x}: {why}" for v, why in check.rejected)
        _note(job, f"fact {job.fact_hash} is on chain with no acceptable verification yet: {reasons}",
              delay=_backoff(job.poll_failures))  # fmt: skip
        return job
    _note(job, f"fact {job.fact_hash} not on chain yet (block {check.block_number})", delay=_backoff(job.poll_failures))
    return job


def _check_l1(job: ProofJob) -> ProofJob:
    """SHARP settles on Ethereum: verified only when GpsFactRegistry.isValid(our keccak fact)."""
    if not settings.ETHEREUM_RPC_URLS:
        _note(job, "SHARP reports ONCHAIN (L1); no L1 fact check is configured", delay=_backoff(job.poll_failures))
        return job
    try:
        check = l1_facts.is_valid_fact(
            int(job.sharp_fact_hash, 16),
            rpc_urls=settings.ETHEREUM_RPC_URLS,
            registry=settings.SHARP_FACT_REGISTRY_ADDRESS,
            timeout=settings.STARKNET_RPC_TIMEOUT,
        )
    except (integrity.ChainUnavailable, integrity.MalformedAnswer) as exc:
        _note(job, f"L1 check: {exc}", delay=_backoff(job.poll_failures))
        return job
    if not check.valid:
        _note(job, f"fact {job.sharp_fact_hash} not valid on L1 yet", delay=_backoff(job.poll_failures))
        return job
    job = services.proof_job_transition(
        job,
        Status.VERIFIED,
        detail=f"GpsFactRegistry.isValid at L1 block {check.block_number} ({check.node_url})",
        verifier_config={"registry": settings.SHARP_FACT_REGISTRY_ADDRESS, "chain": "ethereum"},
        verified_block=check.block_number,
        next_poll_at=timezone.now() if settings.VERIFICATION_WEBHOOK_URL else None,
    )
    transaction.on_commit(lambda job_id=str(job.pk): webhooks.webhook_enqueue(job_id))
    return job


def poll_verifications() -> int:
    """Work of the durable schedule: every due job gets one submission or one poll."""
    if not settings.PROVER_SERVICE:
        return 0
    now = timezone.now()
    due = list(
        ProofJob.objects.filter(
            Q(status=Status.GENERATED, decision__isnull=False)
            | Q(status__in=[Status.SUBMITTED, Status.VERIFYING])
            | Q(status=Status.VERIFIED, webhook_delivered_at__isnull=True),
            next_poll_at__lte=now,
        )
        .order_by("next_poll_at")
        .values_list("pk", "status")[: settings.PROOF_POLL_BATCH]
    )
    # Stop taking jobs at half the task timeout, so django-q2 never kills a run in the middle.
    budget_ends = time.monotonic() + settings.Q_CLUSTER["timeout"] / 2
    for job_id, status in due:
        if time.monotonic() > budget_ends:
            break
        try:
            if status == Status.GENERATED:
                submit_to_prover_service(job_id)
            elif status == Status.VERIFIED:
                webhooks.webhook_deliver(str(job_id))
            else:
                poll_verification(job_id)
        except Exception as exc:  # one bad job must not starve the others: note it and back off
            logger.exception("proof job %s: poll failed", job_id)
            job = ProofJob.objects.get(pk=job_id)
            _note(job, f"unexpected {type(exc).__name__}: {exc}"[:500], delay=_backoff(job.poll_failures))
    return len(due)


def fact_hash_check(fact_hash: int) -> dict:
    """A live Integrity check of any fact: every verification found, and whether it counts for us."""
    check = _integrity_check(fact_hash)
    reasons = {id(v): why for v, why in check.rejected}
    return {
        "fact_hash": felt_hex(fact_hash),
        "verified": check.verified,
        "min_security_bits": settings.INTEGRITY_MIN_SECURITY_BITS,
        "accepted_verifier_configs": [dataclasses.asdict(c) for c in accepted_verifier_configs()],
        "block_number": check.block_number,
        "node_url": check.node_url,
        "verifications": [
            {
                **v.as_dict(),
                "accepted": v is check.accepted,
                "reason": reasons.get(
                    id(v), "accepted" if v is check.accepted else "another verification was accepted"
                ),
            }
            for v in check.verifications
        ],
    }
