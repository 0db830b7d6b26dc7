"""django-q2 entry points: they take ids, and the services find the state in the database."""

from . import schedules, services, submission, webhooks


def prove_job(job_id: str) -> str | None:
    job = services.proof_job_prove_queued(job_id)
    return job.status if job else None


def run_cairo_statement(job_id: str) -> str | None:
    job = submission.cairo_statement_ensure(job_id)
    return job.program_hash if job else None


def sweep_stale_jobs() -> int:
    return services.proof_jobs_sweep_stale()


def submit_job(job_id: str) -> str | None:
    job = submission.submit_to_prover_service(job_id)
    return job.status if job else None


def poll_verifications() -> int:
    try:
        return submission.poll_verifications()
    finally:
        schedules.poll_schedule_rearm()


def deliver_verification_webhook(job_id: str) -> bool:
    return webhooks.webhook_deliver(job_id)
