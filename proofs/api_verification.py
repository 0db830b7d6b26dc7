"""Verification on Starknet, over JSON: a job's verification state, and a live check of any fact."""

from datetime import datetime
from typing import Annotated
from uuid import UUID

from ninja import Path, Router, Schema
from pydantic import Field

from obsqra.errors import DomainError, NotFound

from . import integrity, submission
from .api import ProofStatus
from .models import ProofJob

router = Router(tags=["verification"])

FactHash = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{1,64}$", description="a felt, 0x + up to 64 hex digits")]


class ChainUnavailableError(DomainError):
    status_code = 503


class VerifierConfigOut(Schema):
    layout: str
    hasher: str
    stone_version: str
    memory_verification: str


class VerificationStatusOut(Schema):
    proof_job_id: UUID = Field(alias="id")
    decision_id: int | None
    status: ProofStatus
    prover_service: str
    remote_job_id: str
    remote_status: str
    program_hash: str
    fact_hash: str = Field(description="the Integrity fact (bootloaded Cairo PIE)")
    sharp_fact_hash: str = Field(description="the SHARP L1 fact (keccak)")
    cairo_steps: int | None
    verification_hash: str
    verifier_config: dict | None
    verified_block: int | None
    submitted_at: datetime | None
    verified_at: datetime | None
    next_poll_at: datetime | None
    submit_attempts: int
    poll_failures: int
    last_poll_error: str
    notes: list[dict] = Field(alias="poll_notes")
    error: str

    @staticmethod
    def resolve_decision_id(job: ProofJob) -> int | None:
        return job.decision.pk if hasattr(job, "decision") else None


class FoundVerificationOut(Schema):
    verification_hash: str
    security_bits: int
    verifier_config: VerifierConfigOut
    accepted: bool
    reason: str


class FactCheckOut(Schema):
    fact_hash: str
    verified: bool
    min_security_bits: int
    accepted_verifier_configs: list[VerifierConfigOut]
    block_number: int
    node_url: str
    verifications: list[FoundVerificationOut]


@router.get("/verification-status/{proof_job_id}", response=VerificationStatusOut)
def verification_status(request, proof_job_id: UUID):
    job = ProofJob.objects.filter(pk=proof_job_id).defer("proof", "cairo_pie").first()
    if job is None:
        raise NotFound(f"no proof job {proof_job_id}")
    return job


@router.get("/verify-fact-hash/{fact_hash}", response=FactCheckOut)
def verify_fact_hash(request, fact_hash: Path[FactHash]):
    try:
        return submission.fact_hash_check(int(fact_hash, 16))
    except (integrity.ChainUnavailable, integrity.MalformedAnswer) as exc:
        raise ChainUnavailableError(f"Starknet check failed: {exc}") from exc
