"""The signed "verified" webhook: HMAC-SHA256 of the raw body, sent by a django-q2 task with retries.

The first attempt is queued as soon as the job is verified; a failed one is tried again by the
durable poll schedule (proofs.submission.poll_verifications) with a growing delay, up to
VERIFICATION_WEBHOOK_MAX_ATTEMPTS; each failure is a note on the job. The secret comes from the
environment and is never stored or logged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import timedelta

import httpx
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from .models import ProofJob

logger = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Obsqra-Signature"


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_body(job: ProofJob) -> bytes:
    payload = {
        "event": "proof.verified",
        "proof_job_id": str(job.pk),
        "decision_id": job.decision.pk if hasattr(job, "decision") else None,
        "fact_hash": job.sharp_fact_hash if job.prover_service == "sharp" else job.fact_hash,
        "verification_hash": job.verification_hash,
        "block": job.verified_block,
    }
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def webhook_enqueue(job_id: str) -> None:
    if settings.VERIFICATION_WEBHOOK_URL:
        async_task("proofs.tasks.deliver_verification_webhook", job_id)


def webhook_deliver(job_id: str) -> bool:
    """One delivery attempt; True once delivered (then never sent again).

    A failure sets the job's next_poll_at with a growing delay: the durable poll schedule tries
    again, so neither a lost task nor a restart drops a webhook.
    """
    url = settings.VERIFICATION_WEBHOOK_URL
    if not url:
        return False
    with transaction.atomic():
        job = (
            ProofJob.objects.select_for_update(skip_locked=True)
            .filter(pk=job_id, status=ProofJob.Status.VERIFIED)
            .first()
        )
        if job is None or job.webhook_delivered_at:
            return bool(job and job.webhook_delivered_at)
        job.webhook_attempts += 1
        body = webhook_body(job)
        headers = {"content-type": "application/json"}
        if settings.VERIFICATION_WEBHOOK_SECRET:
            headers[SIGNATURE_HEADER] = signature(settings.VERIFICATION_WEBHOOK_SECRET, body)
        try:
            response = httpx.post(url, content=body, headers=headers, timeout=settings.PROVER_HTTP_TIMEOUT)
            ok, reason = response.is_success, f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            ok, reason = False, f"{type(exc).__name__}: {exc}"
        now = timezone.now()
        if ok:
            job.webhook_delivered_at, job.next_poll_at = now, None
            job.save(update_fields=["webhook_attempts", "webhook_delivered_at", "next_poll_at", "updated_at"])
            return True
        note = {"at": now.isoformat(), "reason": f"webhook attempt {job.webhook_attempts}: {reason}"}
        job.poll_notes = [*job.poll_notes, note][-50:]
        if job.webhook_attempts < settings.VERIFICATION_WEBHOOK_MAX_ATTEMPTS:
            delay = settings.VERIFICATION_WEBHOOK_RETRY_SECONDS * 2 ** (job.webhook_attempts - 1)
            job.next_poll_at = now + timedelta(seconds=delay)
        else:
            job.next_poll_at = None  # given up; the notes keep every attempt
        job.save(update_fields=["webhook_attempts", "poll_notes", "next_poll_at", "updated_at"])
        logger.warning("proof job %s: webhook %s", job.pk, note["reason"])
        return False
