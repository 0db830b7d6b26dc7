from django.db.models import QuerySet

from obsqra.errors import NotFound

from .models import AllocationDecision, Policy


def policy_get(name: str | None) -> Policy:
    """The named preset, or the default one."""
    try:
        return Policy.objects.get(name=name) if name else Policy.objects.get(is_default=True)
    except Policy.DoesNotExist:
        raise NotFound(f"unknown policy {name!r}" if name else "no default policy", field=("policy",)) from None


def decision_list() -> QuerySet[AllocationDecision]:
    return AllocationDecision.objects.select_related(
        "jediswap_snapshot", "ekubo_snapshot", "model_version", "policy", "proof_job"
    ).order_by("-id")


def decision_get(decision_id: int) -> AllocationDecision:
    try:
        return decision_list().get(pk=decision_id)
    except AllocationDecision.DoesNotExist:
        raise NotFound(f"unknown decision {decision_id}") from None
