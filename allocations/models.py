from django.db import models
from django.db.models import Q

from . import risk, risk_engine


class Policy(models.Model):
    """A named DAO policy preset; a decision records the one it was checked against."""

    name = models.SlugField(max_length=50, unique=True)
    description = models.TextField(blank=True)
    max_single = models.PositiveIntegerField(help_text="largest share of one protocol, bps")
    min_diversification = models.PositiveSmallIntegerField(help_text="protocols that must hold >= 10% each")
    max_volatility = models.PositiveIntegerField(help_text="highest volatility allowed, bps")
    min_liquidity = models.PositiveSmallIntegerField(help_text="thinnest liquidity tier allowed (0 deepest, 3 any)")
    is_default = models.BooleanField(default=False)

    class Meta:
        verbose_name_plural = "policies"
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="one_default_policy"),
            models.CheckConstraint(condition=Q(max_single__lte=risk.BPS), name="policy_max_single_bps"),
            models.CheckConstraint(condition=Q(min_diversification__lte=2), name="policy_min_diversification"),
            models.CheckConstraint(condition=Q(max_volatility__lte=risk.BPS), name="policy_max_volatility_bps"),
            models.CheckConstraint(condition=Q(min_liquidity__lte=3), name="policy_min_liquidity_tier"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def terms(self) -> risk.PolicyTerms:
        return risk.PolicyTerms(
            max_single=self.max_single,
            min_diversification=self.min_diversification,
            max_volatility=self.max_volatility,
            min_liquidity=self.min_liquidity,
        )


class Protocol(models.TextChoices):
    JEDISWAP = "jediswap", "JediSwap"
    EKUBO = "ekubo", "Ekubo"


class MetricsSnapshot(models.Model):
    class Source(models.TextChoices):
        REQUEST = "request", "API request"
        CHAIN = "chain", "Starknet"
        DEMO = "demo", "Demo data"

    protocol = models.CharField(max_length=16, choices=Protocol.choices)
    utilization = models.PositiveIntegerField()
    volatility = models.PositiveIntegerField()
    liquidity = models.PositiveSmallIntegerField()
    audit_score = models.PositiveSmallIntegerField()
    age_days = models.PositiveIntegerField()
    source = models.CharField(max_length=16, choices=Source.choices)
    block_number = models.PositiveBigIntegerField(null=True, blank=True)
    block_timestamp = models.DateTimeField(null=True, blank=True)
    captured_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(utilization__lte=risk.BPS, volatility__lte=risk.BPS, liquidity__lte=3, audit_score__lte=100),
                name="snapshot_metrics_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.protocol} snapshot {self.pk}"

    @property
    def metrics(self) -> risk.ProtocolMetrics:
        return risk.ProtocolMetrics(
            utilization=self.utilization,
            volatility=self.volatility,
            liquidity=self.liquidity,
            audit_score=self.audit_score,
            age_days=self.age_days,
        )


class AllocationDecision(models.Model):
    class Status(models.TextChoices):
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected by policy"
        EXECUTING = "executing", "Executing"
        EXECUTED = "executed", "Executed"
        CONFIRMED = "confirmed", "Confirmed on chain"
        REVERTED = "reverted", "Reverted"

    jediswap_snapshot = models.ForeignKey(MetricsSnapshot, on_delete=models.PROTECT, related_name="+")
    ekubo_snapshot = models.ForeignKey(MetricsSnapshot, on_delete=models.PROTECT, related_name="+")
    model_version = models.ForeignKey("registry.ModelVersion", on_delete=models.PROTECT, related_name="decisions")
    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="decisions")
    jediswap_apy = models.PositiveIntegerField()
    ekubo_apy = models.PositiveIntegerField()
    jediswap_score = models.PositiveIntegerField()
    ekubo_score = models.PositiveIntegerField()
    jediswap_pct = models.PositiveIntegerField()
    ekubo_pct = models.PositiveIntegerField()
    violations = models.PositiveSmallIntegerField(help_text="bitmask over the policy rules; 0 = passed")
    constraints_passed = models.BooleanField()
    status = models.CharField(max_length=16, choices=Status.choices)
    proof_job = models.OneToOneField(
        "proofs.ProofJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="decision"
    )
    # The transaction that executed (or reverted) the decision; every attempt is an Execution.
    tx_hash = models.CharField(max_length=66, blank=True, db_index=True)
    block_number = models.PositiveBigIntegerField(null=True, blank=True)
    revert_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(jediswap_pct__lte=risk.BPS), name="decision_pct_bps"),
            models.CheckConstraint(
                condition=Q(jediswap_pct=risk.BPS - models.F("ekubo_pct")), name="decision_pcts_sum_to_bps"
            ),
            models.CheckConstraint(
                condition=Q(constraints_passed=True, violations=0) | Q(constraints_passed=False, violations__gt=0),
                name="decision_passed_iff_no_violation",
            ),
        ]

    def __str__(self) -> str:
        return f"decision {self.pk}"

    @property
    def apys(self) -> risk.Apys:
        return risk.Apys(jediswap=self.jediswap_apy, ekubo=self.ekubo_apy)

    @property
    def violated_rules(self) -> list[str]:
        return risk.violated_rules(self.violations)

    @property
    def revert_cause(self) -> str:
        return risk_engine.revert_cause(self.revert_reason)


class Execution(models.Model):
    """One signed propose_and_execute_allocation transaction for a decision, stored before it is sent."""

    class Status(models.TextChoices):
        SENT = "sent", "Sent, awaiting its receipt"
        SUCCEEDED = "succeeded", "Succeeded"
        REVERTED = "reverted", "Reverted"
        DROPPED = "dropped", "Never landed"

    decision = models.ForeignKey(AllocationDecision, on_delete=models.PROTECT, related_name="executions")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SENT, db_index=True)
    tx_hash = models.CharField(max_length=66, unique=True)
    sender = models.CharField(max_length=66, help_text="the operator account")
    nonce = models.PositiveBigIntegerField()
    calldata = models.JSONField(help_text="propose_and_execute_allocation's calldata, hex felts")
    transaction = models.JSONField(help_text="the signed transaction, wire format; resent as is")
    sends = models.PositiveSmallIntegerField(default=0, help_text="times the node was handed the transaction")
    block_number = models.PositiveBigIntegerField(null=True, blank=True)
    block_hash = models.CharField(max_length=66, blank=True)
    fee = models.CharField(max_length=80, blank=True, help_text="actual fee, FRI")
    revert_reason = models.TextField(blank=True)
    error = models.TextField(blank=True, help_text="why it never landed, or the last trouble reaching a node")
    node = models.CharField(max_length=200, blank=True, help_text="the node that answered last")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One transaction in flight per decision: a second one could execute it twice.
            models.UniqueConstraint(fields=["decision"], condition=Q(status="sent"), name="one_execution_in_flight"),
        ]

    def __str__(self) -> str:
        return f"execution {self.tx_hash} ({self.status})"

    @property
    def revert_cause(self) -> str:
        return risk_engine.revert_cause(self.revert_reason)


class ChainEvent(models.Model):
    """One raw event emitted by a watched contract, stored once however often it is re-read."""

    contract_address = models.CharField(max_length=66, db_index=True)
    selector = models.CharField(max_length=66, help_text="keys[0]: sn_keccak of the event name")
    name = models.CharField(max_length=64, blank=True, help_text="the event name when the selector is a known one")
    keys = models.JSONField(help_text="all keys, hex felts")
    data = models.JSONField(help_text="data, hex felts")
    block_number = models.PositiveBigIntegerField(db_index=True)
    block_hash = models.CharField(max_length=66)
    tx_hash = models.CharField(max_length=66, db_index=True)
    event_index = models.PositiveIntegerField(help_text="position of the event in its transaction")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["block_number", "tx_hash", "event_index"]
        constraints = [
            models.UniqueConstraint(fields=["block_number", "tx_hash", "event_index"], name="chain_event_once"),
        ]

    def __str__(self) -> str:
        return f"{self.name or self.selector} at block {self.block_number}"


class IndexerCursor(models.Model):
    """How far the events of one contract are indexed, and the hash of that block to notice a reorg."""

    contract_address = models.CharField(max_length=66, unique=True)
    last_block = models.PositiveBigIntegerField()
    last_block_hash = models.CharField(max_length=66)
    reorgs = models.PositiveIntegerField(default=0, help_text="reorgs seen so far")
    node = models.CharField(max_length=200, blank=True, help_text="the node that answered the last poll")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.contract_address} at {self.last_block}"
