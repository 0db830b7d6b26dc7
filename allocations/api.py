from datetime import datetime
from uuid import UUID

from django.urls import reverse
from ninja import Router, Schema, Status
from ninja.decorators import decorate_view
from ninja.pagination import paginate
from pydantic import ConfigDict, Field, model_validator

from obsqra.limits import RATE_LIMITED_RESPONSE, rate_limited
from obsqra.paging import ApiPagination
from obsqra.schemas import Identifier, choices
from proofs.page_settings import explorer_tx_url
from proofs.services import decision_orchestrate
from registry.auth import staff_only

from . import execution, risk, selectors, services
from .models import AllocationDecision, Execution

router = Router(tags=["risk engine"])

DecisionStatus = choices(AllocationDecision.Status, "DecisionStatus")
ExecutionStatus = choices(Execution.Status, "ExecutionStatus")


class DecisionIn(Schema):
    """The inputs of one decision; shared by scoring, proving and orchestration."""

    model_config = ConfigDict(extra="forbid")

    jediswap_metrics: risk.ProtocolMetrics
    ekubo_metrics: risk.ProtocolMetrics
    model_version: Identifier | None = Field(None, max_length=64, description="default: the current version")
    policy: Identifier | None = Field(None, max_length=50, description="policy preset; default: the default preset")
    apys: risk.Apys = Field(default_factory=risk.Apys, description="APYs in bps")

    def resolve(self) -> services.DecisionInputs:
        return services.decision_inputs_resolve(
            jediswap=self.jediswap_metrics,
            ekubo=self.ekubo_metrics,
            apys=self.apys,
            model_version=self.model_version,
            policy=self.policy,
        )


class OrchestrateIn(DecisionIn):
    """As DecisionIn; without both metric sets, the pools' live metrics are read from Starknet."""

    jediswap_metrics: risk.ProtocolMetrics | None = None
    ekubo_metrics: risk.ProtocolMetrics | None = None

    @model_validator(mode="after")
    def _both_or_neither(self):
        if (self.jediswap_metrics is None) != (self.ekubo_metrics is None):
            raise ValueError("give both jediswap_metrics and ekubo_metrics, or neither for live metrics")
        return self

    def resolve(self) -> services.DecisionInputs:
        if self.jediswap_metrics is None:
            return services.decision_inputs_live(apys=self.apys, model_version=self.model_version, policy=self.policy)
        return super().resolve()


class ScoreOut(Schema):
    model_version: str
    model_hash: str
    policy: str
    jediswap_score: int
    ekubo_score: int
    jediswap_pct: int
    ekubo_pct: int
    constraints_passed: bool
    violations: list[str] = Field(description="policy rules the split breaks, empty when it passes")


class SnapshotOut(Schema):
    utilization: int
    volatility: int
    liquidity: int
    audit_score: int
    age_days: int
    source: str
    block_number: int | None
    block_timestamp: datetime | None
    captured_at: datetime


class DecisionOut(Schema):
    decision_id: int = Field(alias="id")
    created_at: datetime
    status: DecisionStatus
    model_version: str = Field(alias="model_version.version")
    model_hash: str = Field(alias="model_version.model_hash")
    policy: str = Field(alias="policy.name")
    jediswap_metrics: SnapshotOut = Field(alias="jediswap_snapshot")
    ekubo_metrics: SnapshotOut = Field(alias="ekubo_snapshot")
    apys: risk.Apys
    jediswap_score: int
    ekubo_score: int
    jediswap_pct: int
    ekubo_pct: int
    constraints_passed: bool
    violations: list[str] = Field(alias="violated_rules")
    proof_job_id: str | None
    proof_status: str | None
    proof_hash: str | None
    tx_hash: str
    block_number: int | None
    revert_reason: str
    revert_cause: str = Field(description="the revert reason in plain words, when it is a known one")

    @staticmethod
    def resolve_proof_job_id(obj: AllocationDecision) -> str | None:
        return str(obj.proof_job_id) if obj.proof_job_id else None

    @staticmethod
    def resolve_proof_status(obj: AllocationDecision) -> str | None:
        return obj.proof_job.status if obj.proof_job else None

    @staticmethod
    def resolve_proof_hash(obj: AllocationDecision) -> str | None:
        return obj.proof_job.proof_hash if obj.proof_job else None


@router.post("/score", response=ScoreOut)
def score(request, payload: DecisionIn):
    inputs = payload.resolve()
    outcome = inputs.evaluate()
    return ScoreOut(
        model_version=inputs.model_version.version,
        model_hash=inputs.model_version.model_hash,
        policy=inputs.policy.name,
        jediswap_score=outcome.jediswap_score,
        ekubo_score=outcome.ekubo_score,
        jediswap_pct=outcome.jediswap_pct,
        ekubo_pct=outcome.ekubo_pct,
        constraints_passed=outcome.passed,
        violations=risk.violated_rules(outcome.violations),
    )


class OrchestratedOut(Schema):
    decision_id: int
    status: DecisionStatus
    proof_job_id: UUID
    proof_status: str
    proof_hash: str
    jediswap_pct: int
    ekubo_pct: int
    constraints_passed: bool
    violations: list[str]
    verification_url: str


@router.post("/orchestrate-allocation", response={200: OrchestratedOut, **RATE_LIMITED_RESPONSE})
@decorate_view(rate_limited("orchestrate"))
def orchestrate_allocation(request, payload: OrchestrateIn):
    decision = decision_orchestrate(inputs=payload.resolve())
    job = decision.proof_job
    return OrchestratedOut(
        decision_id=decision.pk,
        status=decision.status,
        proof_job_id=job.pk,
        proof_status=job.status,
        proof_hash=job.proof_hash,
        jediswap_pct=decision.jediswap_pct,
        ekubo_pct=decision.ekubo_pct,
        constraints_passed=decision.constraints_passed,
        violations=decision.violated_rules,
        verification_url=request.build_absolute_uri(reverse("proofs:detail", args=[job.pk])),
    )


@router.get("/decisions", response=list[DecisionOut])
@paginate(ApiPagination, page_size=20)
def decisions(request):
    return selectors.decision_list()


@router.get("/decision/{decision_id}", response=DecisionOut)
def decision_detail(request, decision_id: int):
    return selectors.decision_get(decision_id)


class ExecuteIn(Schema):
    model_config = ConfigDict(extra="forbid")

    decision_id: int = Field(ge=1, description="a stored decision that passed its policy and whose proof is verified")


class ExecutionOut(Schema):
    id: int
    decision_id: int
    status: ExecutionStatus
    decision_status: DecisionStatus = Field(alias="decision.status")
    tx_hash: str
    explorer_url: str
    sender: str
    nonce: int
    calldata: list[str] = Field(description="propose_and_execute_allocation's 24 felts")
    block_number: int | None
    fee: str = Field(description="actual fee in FRI, once there is a receipt")
    revert_reason: str
    revert_cause: str
    error: str = Field(description="why it never landed, or the last trouble reaching a node")
    created_at: datetime
    finished_at: datetime | None

    @staticmethod
    def resolve_explorer_url(obj: Execution) -> str:
        return explorer_tx_url(obj.tx_hash)


@router.post("/execute-allocation", response={202: ExecutionOut}, auth=staff_only)
def execute_allocation(request, payload: ExecuteIn):
    """Sends the decision's execute_decision transaction to our RiskEngine; its receipt is followed in the
    background (GET /decision/{id}/executions). Staff only: the operator account pays for it."""
    return Status(202, execution.execution_start(decision_id=payload.decision_id))


@router.get("/decision/{decision_id}/executions", response=list[ExecutionOut])
def decision_executions(request, decision_id: int):
    return selectors.execution_list(decision_id)
