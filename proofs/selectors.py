from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import BinaryField, Count, QuerySet
from django.utils import timezone

from obsqra.errors import NotFound

from . import integrity
from .models import ProofJob

# A proof of one decision takes milliseconds; a job waiting longer is waiting for a worker.
EXPECTED_GENERATION = timedelta(seconds=2)

# The proof (and any other file a job stores) stays in the database until a download asks for it.
BLOB_FIELDS = tuple(f.name for f in ProofJob._meta.concrete_fields if isinstance(f, BinaryField))


def proof_job_get(job_id) -> ProofJob:
    try:
        return ProofJob.objects.select_related("decision").get(pk=job_id)
    except (ProofJob.DoesNotExist, ValueError):
        raise NotFound(f"unknown proof job {job_id}") from None


def proof_job_list(*, status: str | None = None, with_blobs: tuple[str, ...] = ()) -> QuerySet[ProofJob]:
    """Jobs newest first, without their blobs (proof, Cairo PIE) unless asked for."""
    jobs = ProofJob.objects.select_related("decision")
    jobs = jobs.defer(*(name for name in BLOB_FIELDS if name not in with_blobs))
    return jobs.filter(status=status) if status else jobs


def proof_job_rows(*, status: str | None = None) -> QuerySet[ProofJob]:
    """Only what the proof table and a badge show, newest first (by the created_at index alone: fast at any depth)."""
    jobs = (
        ProofJob.objects.select_related("decision")
        .only("status", "error", "proof_hash", "proof_size", "generation_time", "created_at", "decision__id")
        .order_by("-created_at")
    )
    return jobs.filter(status=status) if status else jobs


def proof_job_counts() -> dict[str, int]:
    # COUNT(*), not COUNT(id): the status index alone answers it, without reading the wide rows.
    counts = dict(ProofJob.objects.values_list("status").annotate(n=Count("*")).order_by())
    return {status: counts.get(status, 0) for status in ProofJob.Status.values}


def proof_job_elapsed(job: ProofJob) -> float:
    """Seconds from creation until it became final, or until now."""
    end = job.verified_at if job.status == ProofJob.Status.VERIFIED else (job.updated_at if job.is_final else None)
    return ((end or timezone.now()) - job.created_at).total_seconds()


def proof_job_estimated_completion(job: ProofJob) -> datetime | None:
    if job.status == ProofJob.Status.GENERATING:
        return max(job.created_at + EXPECTED_GENERATION, timezone.now())
    return None


def proof_job_events(job: ProofJob) -> QuerySet:
    return job.events.order_by("at", "id")


def accepted_verifier_configs() -> list[integrity.VerifierConfig]:
    """The verifier configurations a verification of our fact must have (INTEGRITY_VERIFIER_CONFIGS)."""
    return [integrity.VerifierConfig.parse(text) for text in settings.INTEGRITY_VERIFIER_CONFIGS]
