import uuid

from django.db import models


class ProofJob(models.Model):
    class Status(models.TextChoices):
        GENERATING = "generating"
        GENERATED = "generated"
        SUBMITTED = "submitted"
        VERIFYING = "verifying"
        VERIFIED = "verified"
        FAILED = "failed"
        TIMEOUT = "timeout"

    # The only moves a job may make; proofs.services.proof_job_transition enforces them for every caller.
    TRANSITIONS = {
        Status.GENERATING: {Status.GENERATED, Status.FAILED, Status.TIMEOUT},
        Status.GENERATED: {Status.SUBMITTED, Status.FAILED},
        Status.SUBMITTED: {Status.VERIFYING, Status.VERIFIED, Status.FAILED, Status.TIMEOUT},
        Status.VERIFYING: {Status.VERIFIED, Status.FAILED, Status.TIMEOUT},
        Status.VERIFIED: set(),
        # A retry goes on from the stored proof, or proves again when there is none.
        Status.FAILED: {Status.GENERATED, Status.GENERATING},
        Status.TIMEOUT: {Status.GENERATED, Status.GENERATING},
    }
    FINAL = frozenset({Status.VERIFIED, Status.FAILED, Status.TIMEOUT})

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.GENERATING, db_index=True)
    proof_hash = models.CharField(max_length=66, blank=True, db_index=True)
    proof = models.BinaryField(blank=True, default=b"")
    proof_size = models.PositiveIntegerField(null=True, blank=True)
    generation_time = models.DurationField(null=True, blank=True)
    prover = models.CharField(max_length=100, blank=True)
    conjectured_security_bits = models.PositiveSmallIntegerField(null=True, blank=True)
    proven_security_bits = models.PositiveSmallIntegerField(null=True, blank=True)
    # The versions that made the proof and its Cairo run (proofs.provenance), published in its bundle.
    software = models.JSONField(default=dict, blank=True)
    public_inputs = models.JSONField(null=True, blank=True)
    metrics = models.JSONField(null=True, blank=True)
    fact_hash = models.CharField(max_length=66, blank=True)
    remote_job_id = models.CharField(max_length=100, blank=True, db_index=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Verification on Starknet (proofs.submission): the Cairo statement, the prover service, the chain.
    program_hash = models.CharField(max_length=66, blank=True)
    cairo_pie = models.BinaryField(blank=True, default=b"")
    cairo_steps = models.PositiveIntegerField(null=True, blank=True)
    cairo_time = models.DurationField(null=True, blank=True)
    sharp_fact_hash = models.CharField(max_length=66, blank=True)
    prover_service = models.CharField(max_length=16, blank=True)
    # sha256(program hash, output): the same statement is never sent to a prover service twice.
    submission_key = models.CharField(max_length=64, blank=True, db_index=True)
    submit_attempts = models.PositiveSmallIntegerField(default=0)
    remote_status = models.CharField(max_length=32, blank=True)
    next_poll_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Retryable trouble (network, 5xx, bad JSON, not yet on chain) is a note, not a transition.
    poll_failures = models.PositiveIntegerField(default=0)
    last_poll_error = models.TextField(blank=True)
    poll_notes = models.JSONField(default=list, blank=True)
    verification_hash = models.CharField(max_length=66, blank=True)
    verifier_config = models.JSONField(null=True, blank=True)
    verified_block = models.PositiveBigIntegerField(null=True, blank=True)
    webhook_attempts = models.PositiveSmallIntegerField(default=0)
    webhook_delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"proof job {self.id} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL

    @property
    def made_by_broken_verifier(self) -> bool:
        """A proof of a prover whose verifier accepted forged proofs: it proves nothing and is made again."""
        from .statement import BROKEN_PROVER_NAMES

        return self.prover in BROKEN_PROVER_NAMES


class ProofJobEvent(models.Model):
    """Every status change and failure reason of a job, so none is lost when the next one comes."""

    job = models.ForeignKey(ProofJob, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=16, choices=ProofJob.Status.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=ProofJob.Status.choices)
    detail = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]
