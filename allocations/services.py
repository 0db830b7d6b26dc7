from dataclasses import dataclass

from django.db import transaction

from registry.models import ModelVersion
from registry.selectors import model_version_get

from . import risk
from .models import AllocationDecision, MetricsSnapshot, Policy, Protocol
from .selectors import policy_get


@dataclass(frozen=True)
class DecisionInputs:
    """Everything a decision is computed from, resolved and validated."""

    model_version: ModelVersion
    policy: Policy
    jediswap: risk.ProtocolMetrics
    ekubo: risk.ProtocolMetrics
    apys: risk.Apys

    def evaluate(self) -> risk.Outcome:
        return risk.decide(self.model_version.params, self.jediswap, self.ekubo, self.apys, self.policy.terms)


def decision_inputs_resolve(
    *,
    jediswap: risk.ProtocolMetrics,
    ekubo: risk.ProtocolMetrics,
    apys: risk.Apys | None = None,
    model_version: str | None = None,
    policy: str | None = None,
) -> DecisionInputs:
    return DecisionInputs(
        model_version=model_version_get(model_version),
        policy=policy_get(policy),
        jediswap=jediswap,
        ekubo=ekubo,
        apys=apys or risk.Apys(),
    )


def decision_inputs_of(decision: AllocationDecision) -> DecisionInputs:
    """The inputs a stored decision was computed from, to prove it again."""
    return DecisionInputs(
        model_version=decision.model_version,
        policy=decision.policy,
        jediswap=decision.jediswap_snapshot.metrics,
        ekubo=decision.ekubo_snapshot.metrics,
        apys=decision.apys,
    )


@transaction.atomic
def decision_create(
    *, inputs: DecisionInputs, source: str = MetricsSnapshot.Source.REQUEST, proof_job=None
) -> AllocationDecision:
    outcome = inputs.evaluate()
    snapshots = {
        protocol: MetricsSnapshot.objects.create(protocol=protocol, source=source, **metrics.model_dump())
        for protocol, metrics in ((Protocol.JEDISWAP, inputs.jediswap), (Protocol.EKUBO, inputs.ekubo))
    }
    return AllocationDecision.objects.create(
        jediswap_snapshot=snapshots[Protocol.JEDISWAP],
        ekubo_snapshot=snapshots[Protocol.EKUBO],
        model_version=inputs.model_version,
        policy=inputs.policy,
        jediswap_apy=inputs.apys.jediswap,
        ekubo_apy=inputs.apys.ekubo,
        jediswap_score=outcome.jediswap_score,
        ekubo_score=outcome.ekubo_score,
        jediswap_pct=outcome.jediswap_pct,
        ekubo_pct=outcome.ekubo_pct,
        violations=outcome.violations,
        constraints_passed=outcome.passed,
        status=AllocationDecision.Status.APPROVED if outcome.passed else AllocationDecision.Status.REJECTED,
        proof_job=proof_job,
    )
