"""Pages of the audit trail owned by allocations: the dashboard, one decision, and the explorer pages of a
local chain (a transaction, a block)."""

from django.core.cache import cache
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

from obsqra.paging import page_of
from proofs import services as proof_services
from proofs.selectors import proof_job_counts

from . import chain, charts, risk, selectors

DECISIONS_PER_PAGE = 20
CHART_POINTS = 90
CHART_CACHE_SECONDS = 3600


@require_GET
def dashboard(request):
    page = page_of(selectors.decision_rows(), number=request.GET.get("page"), per_page=DECISIONS_PER_PAGE)
    if request.htmx.target == "decisions":
        # Paging through the table swaps the table alone.
        response = render(request, "allocations/_decision_table.html", {"page": page})
    else:
        counts = proof_job_counts()
        context = {
            "page": page,
            "proof_counts": counts,
            "proof_total": sum(counts.values()),
            "charts": _charts_html(request),
        }
        response = render(request, "allocations/dashboard.html", context)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


def _charts_html(request) -> str:
    """The charts only change with a new decision: rendered once per newest decision, then cached."""
    key = f"dashboard-charts:{CHART_POINTS}:{selectors.decision_latest_stamp()}"
    html = cache.get(key)
    if html is None:
        points = selectors.decision_chart_points(limit=CHART_POINTS)
        context = {
            "split_chart": charts.split_chart(points),
            "score_chart": charts.score_chart(points),
            "chart_rows": charts.data_rows(points),
            # Ninety rows link to decisions: one reverse() for all of them.
            "decision_base": reverse("allocations:decision", args=[0]).removesuffix("0/"),
        }
        html = render_to_string("allocations/_charts.html", context, request)
        cache.set(key, html, CHART_CACHE_SECONDS)
    return mark_safe(html)  # our own template's output, stored as is


@require_GET
def decision_detail(request, decision_id: int):
    decision = get_object_or_404(selectors.decision_list(), pk=decision_id)
    job = decision.proof_job
    context = {
        "decision": decision,
        "bundle": proof_services.decision_bundle(job) if proof_services.decision_bundle_ready(job) else None,
        "policy_checks": selectors.decision_policy_checks(decision),
        "executions": decision.executions.all(),
    }
    return render(request, "allocations/decision_detail.html", context)


def _felt(text: str) -> int:
    try:
        value = int(text, 16)
    except ValueError:
        raise Http404(f"{text!r} is not a hex felt") from None
    if not 0 <= value < 2**252:
        raise Http404(f"{text!r} is not a felt")
    return value


def _from_chain(request, read, template: str, context: dict):
    """A page of what the node says; a clear page when no node answers or it knows nothing."""
    try:
        found = read()
    except chain.ChainUnavailable as exc:
        return render(request, template, {**context, "unavailable": str(exc)}, status=503)
    if found is None:
        raise Http404("the node does not know it")
    return render(request, template, {**context, "found": found})


@require_GET
def chain_transaction(request, tx_hash: str):
    """A transaction as the configured node reports it: the local chain's explorer page."""
    value = _felt(tx_hash)
    context = {
        "tx_hash": risk.felt_hex(value),
        "executions": selectors.executions_with_tx_hash(risk.felt_hex(value)),
    }
    return _from_chain(request, lambda: selectors.chain_transaction(value), "allocations/chain_transaction.html", context)


@require_GET
def chain_block(request, number: int):
    return _from_chain(request, lambda: selectors.chain_block(number), "allocations/chain_block.html", {"number": number})
