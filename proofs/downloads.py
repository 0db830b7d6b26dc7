"""The files a proof job can be downloaded as, built and named in one place for the pages and the API."""

from django.http import HttpResponse
from django.utils.http import content_disposition_header

from obsqra.errors import Conflict

from . import services, statement
from .bundle import MEDIA_TYPE as bundle_media_type
from .models import ProofJob
from .proof_file import MEDIA_TYPE


def download_stem(job: ProofJob) -> str:
    """`obsqra-decision-42-0123456789ab`: whose proof it is, then the first 12 hex digits of its hash."""
    owner = f"decision-{job.decision.pk}" if hasattr(job, "decision") else f"job-{job.pk}"
    return f"obsqra-{owner}-{job.proof_hash[2:14]}" if job.proof_hash else f"obsqra-{owner}"


def _attachment(content: bytes, *, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    return response


def proof_file_response(job: ProofJob) -> HttpResponse:
    """The proof file that `obsqra-verify` (or `python -m obsqra_stark`) checks with no database."""
    if not job.proof:
        raise Conflict(f"proof job {job.pk} has no proof yet (status {job.status})")
    content = services.proof_file_for(job)
    return _attachment(content, content_type=MEDIA_TYPE, filename=f"{download_stem(job)}.proof.json")


def bundle_response(job: ProofJob) -> HttpResponse:
    """Every part of a decision's proof in one zip, which `obsqra-verify` checks whole."""
    bundle = services.decision_bundle(job)
    response = _attachment(bundle.content, content_type=bundle_media_type, filename=bundle.filename)
    response["X-Bundle-Hash"] = bundle.bundle_hash
    return response


def public_inputs_response(job: ProofJob) -> HttpResponse:
    """The statement alone, readable JSON: what the proof claims, to compare with the decision."""
    content = statement.readable_json(job.public_inputs)
    return _attachment(content, content_type="application/json", filename=f"{download_stem(job)}.public-inputs.json")


def cairo_pie_response(job: ProofJob) -> HttpResponse:
    """The Cairo PIE sent to the proving service: rerun it with cairo-run --run_from_cairo_pie."""
    if not job.cairo_pie:
        raise Conflict(f"proof job {job.pk} has no Cairo PIE (status {job.status}; made when it is submitted)")
    return _attachment(bytes(job.cairo_pie), content_type="application/zip", filename=f"{download_stem(job)}.cairo-pie.zip")
