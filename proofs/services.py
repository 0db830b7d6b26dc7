import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task
from obsqra_stark import _stark

from allocations.models import AllocationDecision, MetricsSnapshot
from allocations.services import DecisionInputs, decision_create, decision_inputs_of
from obsqra.errors import Conflict, Gone

from . import bundle, cairo_statement, proof_file, provenance, statement, submission
from .models import ProofJob, ProofJobEvent
from .statement import PublicInputs

Status = ProofJob.Status


class IllegalTransition(Conflict):
    pass


def proof_job_transition(job: ProofJob, to: str, *, detail: str = "", **fields) -> ProofJob:
    """The one way a job changes status: checks the move, stamps the time, keeps the event."""
    with transaction.atomic():
        locked = ProofJob.objects.select_for_update().get(pk=job.pk)
        if to not in ProofJob.TRANSITIONS[locked.status]:
            raise IllegalTransition(f"proof job {job.pk} cannot go from {locked.status} to {to}")
        ProofJobEvent.objects.create(job=locked, from_status=locked.status, to_status=to, detail=detail)
        for name, value in fields.items():
            setattr(locked, name, value)
        now = timezone.now()
        if to == Status.SUBMITTED:
            locked.submitted_at = now
        elif to == Status.VERIFIED:
            locked.verified_at = now
        elif to in (Status.FAILED, Status.TIMEOUT):
            locked.error = detail
        locked.status = to
        locked.save()
    return locked


def statement_for(inputs: DecisionInputs) -> PublicInputs:
    return PublicInputs.for_decision(
        inputs.model_version.params, inputs.jediswap, inputs.ekubo, inputs.apys, inputs.policy.terms
    )


def proof_file_for(job: ProofJob) -> bytes:
    """The canonical proof file; a proof of a broken prover is not published again: it proves nothing."""
    if job.made_by_broken_verifier:
        raise Gone(
            f"proof job {job.pk} was made by {job.prover}, whose verifier accepted forged proofs: it proves nothing. "
            "Its decision is proved again under the current prover (manage.py prove_decisions)."
        )
    return proof_file.encode(PublicInputs.model_validate(job.public_inputs), bytes(job.proof))


def decision_bundle_ready(job: ProofJob | None) -> bool:
    """Its bundle can be built without running anything: a decision's live proof whose Cairo run is stored."""
    return job is not None and job.cairo_steps is not None and not job.made_by_broken_verifier


def decision_bundle(job: ProofJob) -> bundle.Bundle:
    """The auditor's bundle of a decision's proof; its Cairo statement runs first if it has not yet."""
    if not hasattr(job, "decision"):
        raise Conflict(f"proof job {job.pk} proves no stored decision: bundles are made per decision (its proof file is)")
    if not job.proof:
        raise Conflict(f"proof job {job.pk} has no proof yet (status {job.status})")
    proof = proof_file_for(job)
    if not job.cairo_pie:
        try:
            job = submission.cairo_statement_ensure(job.pk)
        except (cairo_statement.CairoStatementError, submission.StatementMismatch) as exc:
            raise Conflict(f"proof job {job.pk}: its Cairo statement failed: {exc}") from exc
    return bundle.assemble(job, proof_file=proof)


def _proof_job_create(public_inputs: PublicInputs) -> ProofJob:
    job = ProofJob.objects.create(
        public_inputs=public_inputs.model_dump(mode="json"),
        metrics={
            "jediswap": public_inputs.jediswap_metrics.model_dump(),
            "ekubo": public_inputs.ekubo_metrics.model_dump(),
        },
    )
    ProofJobEvent.objects.create(job=job, to_status=Status.GENERATING)
    return job


def _prove(job: ProofJob) -> ProofJob:
    public_inputs = PublicInputs.model_validate(job.public_inputs)
    started = time.perf_counter()
    try:
        proof = statement.prove(public_inputs)
    except ValueError as exc:
        return proof_job_transition(job, Status.FAILED, detail=f"proving failed: {exc}")
    elapsed = timedelta(seconds=time.perf_counter() - started)
    security = _stark.security(proof)
    job = proof_job_transition(
        job,
        Status.GENERATED,
        proof=proof,
        proof_hash=proof_file.file_hash(proof_file.encode(public_inputs, proof)),
        proof_size=len(proof),
        generation_time=elapsed,
        prover=statement.PROVER_NAME,
        conjectured_security_bits=security["conjectured_bits"],
        proven_security_bits=security["proven_bits"],
        software=provenance.prover_software(),
    )
    submission.after_generation(job)  # queues verification on Starknet when a prover service is set
    return job


@transaction.atomic
def proof_generate(*, inputs: DecisionInputs) -> ProofJob:
    """Prove one set of inputs now, without recording a decision."""
    return _prove(_proof_job_create(statement_for(inputs)))


@transaction.atomic
def decision_orchestrate(*, inputs: DecisionInputs, source: str = MetricsSnapshot.Source.REQUEST) -> AllocationDecision:
    """Record a decision together with its proof; a policy rejection is proven and stored too."""
    job = _prove(_proof_job_create(statement_for(inputs)))
    return decision_create(inputs=inputs, source=source, proof_job=job)


@transaction.atomic
def proof_jobs_enqueue(*, decisions) -> list[ProofJob]:
    """Give each decision a fresh job and queue its proving; workers find the work in the database."""
    jobs = []
    for decision in decisions.select_related("model_version", "policy", "jediswap_snapshot", "ekubo_snapshot"):
        job = _proof_job_create(statement_for(decision_inputs_of(decision)))
        AllocationDecision.objects.filter(pk=decision.pk).update(proof_job=job)
        transaction.on_commit(lambda job_id=job.pk: async_task("proofs.tasks.prove_job", str(job_id)))
        jobs.append(job)
    return jobs


def proof_job_prove_queued(job_id: str) -> ProofJob | None:
    """Worker side of proof_jobs_enqueue; safe to run twice, only a generating job is proven."""
    with transaction.atomic():
        job = ProofJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status != Status.GENERATING:
            return job
        return _prove(job)


def proof_jobs_sweep_stale() -> int:
    """No job stays generating forever: past the limit it times out, with the reason kept."""
    limit = timedelta(seconds=settings.PROOF_GENERATION_TIMEOUT)
    stale = list(ProofJob.objects.filter(status=Status.GENERATING, created_at__lt=timezone.now() - limit))
    for job in stale:
        proof_job_transition(job, Status.TIMEOUT, detail=f"proof generation did not finish within {limit}")
    return len(stale)



def proof_job_retry(job: ProofJob) -> ProofJob:
    """Send a failed or timed-out job round again: a stored proof goes on as generated, else it is proven anew."""
    if job.proof:
        # A fresh round: the failed query is not followed again and the attempt budget starts over.
        job = proof_job_transition(
            job, Status.GENERATED, detail="retry requested", remote_job_id="", remote_status="", submit_attempts=0,
            poll_failures=0, last_poll_error="",
        )  # fmt: skip
        submission.after_generation(job)
        return job
    job = proof_job_transition(job, Status.GENERATING, detail="retry requested")
    transaction.on_commit(lambda: async_task("proofs.tasks.prove_job", str(job.pk)))
    return job
