from dataclasses import dataclass

from django.conf import settings
from django.db.models import QuerySet
from starknet_py.hash.selector import get_selector_from_name

from obsqra.errors import NotFound
from proofs.selectors import BLOB_FIELDS

from . import chain, explorer, indexer, risk
from .models import AllocationDecision, ChainEvent, Execution, Policy


def policy_get(name: str | None) -> Policy:
    """The named preset, or the default one."""
    try:
        return Policy.objects.get(name=name) if name else Policy.objects.get(is_default=True)
    except Policy.DoesNotExist:
        raise NotFound(f"unknown policy {name!r}" if name else "no default policy", field=("policy",)) from None


def decision_list() -> QuerySet[AllocationDecision]:
    return (
        AllocationDecision.objects.select_related(
            "jediswap_snapshot", "ekubo_snapshot", "model_version", "policy", "proof_job"
        )
        .defer(*(f"proof_job__{name}" for name in BLOB_FIELDS))
        .order_by("-id")
    )


def decision_rows() -> QuerySet[AllocationDecision]:
    """Only what the decision table shows: the dashboard reads it on every view."""
    return (
        AllocationDecision.objects.select_related("model_version", "proof_job")
        .only(
            "created_at", "jediswap_pct", "ekubo_pct", "jediswap_score", "ekubo_score", "status", "tx_hash",
            "model_version__version", "model_version__model_hash",
            "proof_job__status", "proof_job__proof_hash",
        )
        .order_by("-id")
    )  # fmt: skip


def decision_get(decision_id: int) -> AllocationDecision:
    try:
        return decision_list().get(pk=decision_id)
    except AllocationDecision.DoesNotExist:
        raise NotFound(f"unknown decision {decision_id}") from None


def execution_list(decision_id: int) -> list[Execution]:
    """Every transaction sent for a decision, newest first."""
    executions = list(Execution.objects.filter(decision_id=decision_id).select_related("decision"))
    if not executions and not AllocationDecision.objects.filter(pk=decision_id).exists():
        raise NotFound(f"unknown decision {decision_id}")
    return executions


def decision_latest_stamp() -> str:
    """Changes whenever a decision is added (or the newest one's time is set): names what the charts show."""
    latest = AllocationDecision.objects.order_by("-id").values_list("id", "created_at").first()
    return f"{latest[0]}-{latest[1].timestamp()}" if latest else "none"


def decision_chart_points(*, limit: int = 90) -> list[dict]:
    """The latest decisions' splits and scores, oldest first, for the dashboard charts."""
    fields = ("id", "created_at", "jediswap_pct", "ekubo_pct", "jediswap_score", "ekubo_score")
    return list(reversed(AllocationDecision.objects.order_by("-id").values(*fields)[:limit]))


POLICY_RULE_DESCRIPTIONS = {
    "max_single": "No protocol takes a larger share than this.",
    "min_diversification": "At least this many protocols hold 10 % or more.",
    "max_volatility": "No protocol is more volatile than this.",
    "min_liquidity": "No protocol sits in a thinner liquidity tier (0 deepest, 3 any).",
}


@dataclass(frozen=True)
class PolicyCheck:
    rule: str
    description: str
    limit: int
    observed: int
    unit: str  # "bps", "protocols" or "tier"
    passed: bool


def decision_policy_checks(decision: AllocationDecision) -> list[PolicyCheck]:
    """Each policy rule with its limit and what the decision showed; pass or fail comes from the stored bitmask."""
    pcts = (decision.jediswap_pct, decision.ekubo_pct)
    snapshots = (decision.jediswap_snapshot, decision.ekubo_snapshot)
    observed = {
        "max_single": (max(pcts), "bps"),
        "min_diversification": (sum(p >= risk.DIVERSIFICATION_FLOOR_BPS for p in pcts), "protocols"),
        "max_volatility": (max(s.volatility for s in snapshots), "bps"),
        "min_liquidity": (max(s.liquidity for s in snapshots), "tier"),
    }
    broken = set(decision.violated_rules)
    return [
        PolicyCheck(
            rule=rule,
            description=POLICY_RULE_DESCRIPTIONS[rule],
            limit=getattr(decision.policy, rule),
            observed=observed[rule][0],
            unit=observed[rule][1],
            passed=rule not in broken,
        )
        for rule in risk.POLICY_RULES
    ]


def chain_event_list(
    *, contract_address: int | None = None, from_block: int | None = None, to_block: int | None = None
) -> QuerySet[ChainEvent]:
    """Indexed events, oldest first, optionally of one contract and within a block range (inclusive)."""
    events = ChainEvent.objects.order_by("block_number", "tx_hash", "event_index")
    if contract_address is not None:
        events = events.filter(contract_address=risk.felt_hex(contract_address))
    if from_block is not None:
        events = events.filter(block_number__gte=from_block)
    if to_block is not None:
        events = events.filter(block_number__lte=to_block)
    return events


def executions_with_tx_hash(tx_hash: str) -> list[Execution]:
    return list(Execution.objects.filter(tx_hash=tx_hash).select_related("decision"))


def _read_chain(read):
    result, _ = chain.read_with_failover(read, rpc_urls=settings.STARKNET_RPC_URLS, timeout=settings.STARKNET_RPC_TIMEOUT)
    return result


def chain_transaction(tx_hash: int) -> explorer.TransactionView | None:
    """What the configured nodes say about a transaction (raises chain.ChainUnavailable)."""
    names = {int(selector, 16): name for selector, name in chain_event_names().items()}
    return _read_chain(lambda client: explorer.read_transaction(client, tx_hash, names))


def chain_block(number: int) -> explorer.BlockView | None:
    return _read_chain(lambda client: explorer.read_block(client, number))


def chain_event_names() -> dict[str, str]:
    """Recognised events by selector (keys[0], sn_keccak of the name, as felt hex): what the indexer asks
    the node for and how the pages name events."""
    names = {indexer.ALLOCATION_EXECUTED, indexer.FACT_REGISTERED, *settings.INDEXER_EVENT_NAMES}
    return {risk.felt_hex(get_selector_from_name(name)): name for name in sorted(names)}
