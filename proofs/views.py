"""Pages of the audit trail owned by proofs: the job list, one job, its live badge and its downloads."""

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET
from django_htmx.http import HttpResponseStopPolling

from obsqra.errors import DomainError
from obsqra.paging import page_of

from . import downloads, facts, selectors, services
from .forms import ProofFilterForm
from .statement import PublicInputs
from .templatetags.audit_trail import proof_badge as proof_badge_context

JOBS_PER_PAGE = 25


@require_GET
def proof_list(request):
    form = ProofFilterForm(request.GET)
    status = form.cleaned_data["status"] if form.is_valid() else ""
    counts = selectors.proof_job_counts()
    total = sum(counts.values())
    jobs = selectors.proof_job_rows(status=status or None)
    page = page_of(
        jobs, number=request.GET.get("page"), per_page=JOBS_PER_PAGE, count=counts[status] if status else total
    )
    context = {"status": status, "page": page, "counts": counts, "total": total}
    template = "proofs/_proof_results.html" if request.htmx.target == "proof-results" else "proofs/proof_list.html"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


def _why_absent(job) -> dict[str, str]:
    """What an empty hash row says: why that value is not there (yet)."""
    decision = getattr(job, "decision", None)
    if decision is None:
        cairo = "no stored decision: the Cairo statement runs for decisions only"
    elif not job.proof_hash:
        cairo = f"made after the proof, which is not there yet ({job.status})"
    else:
        cairo = "the Cairo run is queued behind the proof; reload in a moment"
    service = "" if settings.PROVER_SERVICE else "no proving service is configured here"
    if job.made_by_broken_verifier:
        bundle = "none: this proof proves nothing"
    elif job.cairo_steps is None:
        bundle = cairo
    else:
        bundle = ""
    return {
        "proof": f"no proof yet ({job.status})",
        "cairo": cairo,
        "bundle": bundle,
        "remote": service or f"not submitted yet ({job.status})",
        "verification": service or "set once Integrity holds an acceptable verification of the fact",
        "transaction": "no stored decision" if decision is None else "the decision has not been executed on chain",
    }


@require_GET
def proof_detail(request, job_id):
    job = get_object_or_404(
        selectors.proof_job_list().select_related("decision__model_version", "decision__policy"), pk=job_id
    )
    bundle = services.decision_bundle(job) if services.decision_bundle_ready(job) else None
    why_absent = _why_absent(job)
    context = {
        "bundle": bundle,
        "why_absent": why_absent,
        "job": job,
        "events": selectors.proof_job_events(job),
        "elapsed_seconds": selectors.proof_job_elapsed(job),
        "estimated_completion": selectors.proof_job_estimated_completion(job),
        "verify_filename": bundle.filename if bundle else f"{downloads.download_stem(job)}.proof.json",
        "statement": PublicInputs.model_validate(job.public_inputs) if job.public_inputs else None,
        "accepted_configs": settings.INTEGRITY_VERIFIER_CONFIGS,
        "min_security_bits": settings.INTEGRITY_MIN_SECURITY_BITS,
        "sharp_bootloader_program_hash": facts.SHARP_BOOTLOADER_PROGRAM_HASH,
    }
    return render(request, "proofs/proof_detail.html", context)


@require_GET
def proof_badge(request, job_id):
    """The polled partial: a final job answers without a trigger, and with 286 so htmx 2 stops at once."""
    job = get_object_or_404(selectors.proof_job_rows(), pk=job_id)
    html = render_to_string("proofs/_badge.html", proof_badge_context(job), request=request)
    return HttpResponseStopPolling(html) if job.is_final else HttpResponse(html)


def _download(job_id, build, *, with_blobs: tuple[str, ...] = ()):
    job = get_object_or_404(selectors.proof_job_list(with_blobs=with_blobs), pk=job_id)
    try:
        return build(job)
    except DomainError as exc:
        return HttpResponse(exc.message, status=exc.status_code, content_type="text/plain")


@require_GET
def download_proof(request, job_id):
    return _download(job_id, downloads.proof_file_response, with_blobs=("proof",))


@require_GET
def download_public_inputs(request, job_id):
    return _download(job_id, downloads.public_inputs_response)


@require_GET
def download_bundle(request, job_id):
    return _download(job_id, downloads.bundle_response, with_blobs=selectors.BLOB_FIELDS)


@require_GET
def download_cairo_pie(request, job_id):
    return _download(job_id, downloads.cairo_pie_response, with_blobs=("cairo_pie",))
