from datetime import datetime
from typing import Literal
from uuid import UUID

from django.urls import reverse
from ninja import File, Query, Router, Schema
from ninja.decorators import decorate_view
from ninja.files import UploadedFile
from pydantic import Field

from allocations.api import DecisionIn
from obsqra.errors import InvalidInput
from obsqra.limits import RATE_LIMITED_RESPONSE, rate_limited
from obsqra.schemas import choices

from . import bundle, selectors, services
from .downloads import bundle_response, proof_file_response
from .models import ProofJob
from .proof_file import file_hash, verify_file
from .statement import PublicInputs, VerificationError

router = Router(tags=["proofs"])

ProofStatus = choices(ProofJob.Status, "ProofStatus")


class GeneratedOut(Schema):
    proof_job_id: UUID
    proof_hash: str
    jediswap_score: int
    ekubo_score: int
    status: ProofStatus
    message: str


class ProofJobOut(Schema):
    proof_job_id: UUID = Field(alias="id")
    status: ProofStatus
    decision_id: int | None
    proof_hash: str
    proof_size: int | None
    prover: str
    made_by_broken_verifier: bool = Field(
        description="made by a prover whose verifier accepted forged proofs: the proof proves nothing"
    )
    conjectured_security_bits: int | None
    proven_security_bits: int | None
    generation_ms: float | None
    public_inputs: PublicInputs | None
    fact_hash: str
    remote_job_id: str
    error: str
    created_at: datetime
    submitted_at: datetime | None
    verified_at: datetime | None
    elapsed_seconds: float
    estimated_completion: datetime | None
    verification_url: str
    download_url: str
    bundle_url: str | None = Field(description="the decision's bundle; none for a proof of no stored decision")

    @staticmethod
    def resolve_decision_id(job: ProofJob) -> int | None:
        return job.decision.pk if hasattr(job, "decision") else None

    @staticmethod
    def resolve_generation_ms(job: ProofJob) -> float | None:
        return job.generation_time.total_seconds() * 1000 if job.generation_time else None

    @staticmethod
    def resolve_elapsed_seconds(job: ProofJob) -> float:
        return round(selectors.proof_job_elapsed(job), 3)

    @staticmethod
    def resolve_estimated_completion(job: ProofJob) -> datetime | None:
        return selectors.proof_job_estimated_completion(job)

    @staticmethod
    def resolve_verification_url(job: ProofJob, context) -> str:
        return context["request"].build_absolute_uri(reverse("proofs:detail", args=[job.pk]))

    @staticmethod
    def resolve_download_url(job: ProofJob, context) -> str:
        return context["request"].build_absolute_uri(f"/api/v1/proofs/{job.pk}/download")

    @staticmethod
    def resolve_bundle_url(job: ProofJob, context) -> str | None:
        if not hasattr(job, "decision"):
            return None
        return context["request"].build_absolute_uri(f"/api/v1/proofs/{job.pk}/bundle")


class ProofJobListOut(Schema):
    counts: dict[str, int] = Field(description="jobs per status, over all jobs")
    items: list[ProofJobOut]


class VerifyOut(Schema):
    valid: bool
    kind: Literal["proof", "bundle"] = Field(description="a proof file, or a decision bundle (a zip)")
    reason: str | None = None
    part: str | None = Field(None, description="the bundle's file or manifest section that failed")
    bundle_hash: str | None = Field(None, description="SHA-256 of the uploaded bundle")
    decision_id: int | None = Field(None, description="the decision a valid bundle is of")
    model_version: str | None = Field(None, description="the model version label a valid bundle names")
    policy: str | None = Field(None, description="the policy name a valid bundle names")
    proof_hash: str | None = Field(None, description="SHA-256 of the proof file (of a valid bundle's proof.json)")
    prover: str | None = None
    conjectured_security_bits: int | None = None
    proven_security_bits: int | None = None
    statement: PublicInputs | None = None
    proof_job_id: UUID | None = Field(None, description="our job holding this exact file, if any")


@router.post("/generate", response={200: GeneratedOut, **RATE_LIMITED_RESPONSE})
@decorate_view(rate_limited("prove"))
def generate(request, payload: DecisionIn):
    job = services.proof_generate(inputs=payload.resolve())
    public_inputs = PublicInputs.model_validate(job.public_inputs)
    return GeneratedOut(
        proof_job_id=job.pk,
        proof_hash=job.proof_hash,
        jediswap_score=public_inputs.jediswap_score,
        ekubo_score=public_inputs.ekubo_score,
        status=job.status,
        message=f"STARK proof generated in {job.generation_time.total_seconds() * 1000:.1f} ms"
        if job.status == ProofJob.Status.GENERATED
        else job.error,
    )


@router.get("", response=ProofJobListOut)
def proof_jobs(request, status: ProofStatus | None = None, limit: int = Query(50, ge=1, le=500)):
    return {"counts": selectors.proof_job_counts(), "items": list(selectors.proof_job_list(status=status)[:limit])}


@router.post("/verify", response={200: VerifyOut, **RATE_LIMITED_RESPONSE})
@decorate_view(rate_limited("verify"))
def verify_upload(request, file: UploadedFile = File(..., description="a proof file or a decision bundle")):
    if file.size > bundle.MAX_BYTES:
        raise InvalidInput(f"an upload is at most {bundle.MAX_BYTES} bytes", field=("file",))
    data = file.read()
    if not bundle.is_bundle(data):
        try:
            verified = verify_file(data)
        except VerificationError as exc:
            return VerifyOut(valid=False, kind="proof", reason=str(exc), proof_hash=file_hash(data))
        return _verified_out(verified, kind="proof")
    try:
        verified_bundle = bundle.verify(data)
    except VerificationError as exc:
        return VerifyOut(valid=False, kind="bundle", reason=str(exc), part=exc.part, bundle_hash=file_hash(data))
    manifest = verified_bundle.manifest
    return _verified_out(
        verified_bundle.proof,
        kind="bundle",
        bundle_hash=verified_bundle.bundle_hash,
        decision_id=manifest["decision"]["id"],
        model_version=manifest["model_version"]["label"],
        policy=manifest["policy"]["name"],
    )


def _verified_out(verified, **fields) -> VerifyOut:
    known = ProofJob.objects.filter(proof_hash=verified.proof_hash).values_list("pk", flat=True).first()
    return VerifyOut(
        valid=True,
        proof_hash=verified.proof_hash,
        prover=verified.prover,
        conjectured_security_bits=verified.conjectured_bits,
        proven_security_bits=verified.proven_bits,
        statement=verified.statement,
        proof_job_id=known,
        **fields,
    )


@router.get("/{job_id}", response=ProofJobOut)
def proof_job_detail(request, job_id: UUID):
    return selectors.proof_job_get(job_id)


@router.get("/{job_id}/download")
def download(request, job_id: UUID):
    return proof_file_response(selectors.proof_job_get(job_id))


@router.get("/{job_id}/bundle")
def download_bundle(request, job_id: UUID):
    """The decision's bundle (zip): proof, statement, Cairo PIE, facts, versions; `obsqra-verify` checks it whole."""
    return bundle_response(selectors.proof_job_get(job_id))
