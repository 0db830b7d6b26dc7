"""The public models page: the current version and every version before it, with hashes and parameters."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from . import selectors


@require_GET
def model_versions(request):
    history = selectors.model_version_history()
    counts = selectors.model_version_decision_counts()
    context = {
        "current": next((mv for mv in history if mv.is_current), None),
        "versions": [(mv, mv.params, counts.get(mv.pk, 0)) for mv in history],
    }
    return render(request, "registry/model_versions.html", context)
