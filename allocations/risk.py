"""The risk model family: one parameterised, integer-exact scoring and allocation rule.

Both published formulas (registry 1.0.0 and 2.0.0) are parameter sets of this family. Every
term is an affine floor division ``(x * weight + offset) // divisor`` of a non-negative integer,
so the same arithmetic can be proven in the STARK and replayed in Cairo bit for bit.

No Django here: the standalone proof verifier imports this module.
"""

from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator
from starknet_py.cairo.felt import encode_shortstring
from starknet_py.hash.hash_method import HashMethod

# A Cairo short string (<= 31 chars): it leads the canonical encoding the model hash is taken over.
FAMILY_ID = "obsqra-risk-affine-floor-v1"
BPS = 10_000
PROTOCOLS = ("jediswap", "ekubo")
# A protocol counts towards diversification once it holds at least this share.
DIVERSIFICATION_FLOOR_BPS = 1_000
DEFAULT_APYS = {"jediswap": 850, "ekubo": 1210}


def _int(low: int, high: int, description: str):
    return Annotated[int, Field(strict=True, ge=low, le=high, description=description)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ScaledTerm(_Frozen):
    """``(x * weight + offset) // divisor``; offset < divisor lets a term round up instead of down."""

    weight: _int(0, 100_000, "multiplier applied to the metric")
    divisor: _int(1, 1_000_000, "floor divisor")
    offset: _int(0, 999_999, "added before dividing; must be below the divisor") = 0

    @model_validator(mode="after")
    def _offset_below_divisor(self):
        if self.offset >= self.divisor:
            raise ValueError("offset must be smaller than divisor")
        return self

    def apply(self, x: int) -> int:
        return (x * self.weight + self.offset) // self.divisor


class AgeTerm(ScaledTerm):
    """Applied to the days left until ``cap_days``: young protocols score riskier."""

    cap_days: _int(0, 36_500, "age from which the term is zero")


class ModelParams(_Frozen):
    utilization: ScaledTerm
    volatility: ScaledTerm
    liquidity_points: Annotated[
        tuple[_int(0, 1000, "points"), _int(0, 1000, "points"), _int(0, 1000, "points"), _int(0, 1000, "points")],
        Field(description="points added for liquidity tier 0 (deepest) to 3 (thinnest)"),
    ]
    audit: ScaledTerm = Field(description="applied to 100 - audit_score")
    age: AgeTerm
    clamp_min: _int(0, 1000, "lowest possible score")
    clamp_max: _int(0, 1000, "highest possible score")

    @model_validator(mode="after")
    def _clamp_ordered(self):
        if self.clamp_min > self.clamp_max:
            raise ValueError("clamp_min must not exceed clamp_max")
        return self

    def to_elements(self) -> list[int]:
        """The canonical order shared by the model hash, the STARK public inputs and Cairo."""
        u, v, a, g = self.utilization, self.volatility, self.audit, self.age
        return [
            u.weight, u.divisor, u.offset,
            v.weight, v.divisor, v.offset,
            *self.liquidity_points,
            a.weight, a.divisor, a.offset,
            g.cap_days, g.weight, g.divisor, g.offset,
            self.clamp_min, self.clamp_max,
        ]  # fmt: skip

    @classmethod
    def from_elements(cls, e: list[int]) -> "ModelParams":
        return cls(
            utilization=ScaledTerm(weight=e[0], divisor=e[1], offset=e[2]),
            volatility=ScaledTerm(weight=e[3], divisor=e[4], offset=e[5]),
            liquidity_points=tuple(e[6:10]),
            audit=ScaledTerm(weight=e[10], divisor=e[11], offset=e[12]),
            age=AgeTerm(cap_days=e[13], weight=e[14], divisor=e[15], offset=e[16]),
            clamp_min=e[17],
            clamp_max=e[18],
        )


PARAM_COUNT = 19


class ProtocolMetrics(_Frozen):
    utilization: _int(0, BPS, "pool utilization in basis points")
    volatility: _int(0, BPS, "annualised volatility in basis points")
    liquidity: _int(0, 3, "liquidity tier: 0 deepest, 3 thinnest")
    audit_score: _int(0, 100, "audit score, 100 best")
    age_days: _int(0, 36_500, "days since deployment")

    def to_elements(self) -> list[int]:
        return [self.utilization, self.volatility, self.liquidity, self.audit_score, self.age_days]


class Apys(_Frozen):
    jediswap: _int(1, 1_000_000, "APY in basis points") = DEFAULT_APYS["jediswap"]
    ekubo: _int(1, 1_000_000, "APY in basis points") = DEFAULT_APYS["ekubo"]


class PolicyTerms(_Frozen):
    max_single: _int(0, BPS, "largest share one protocol may take, bps")
    min_diversification: _int(0, len(PROTOCOLS), "protocols that must hold >= 10% each")
    max_volatility: _int(0, BPS, "highest volatility allowed, bps")
    min_liquidity: _int(0, 3, "thinnest liquidity tier allowed (0 deepest, 3 any)")

    def to_elements(self) -> list[int]:
        return [self.max_single, self.min_diversification, self.max_volatility, self.min_liquidity]


# Policy rules in bit order: the STARK and Cairo statements prove this bitmask.
POLICY_RULES = ("max_single", "min_diversification", "max_volatility", "min_liquidity")


def risk_score(params: ModelParams, m: ProtocolMetrics) -> int:
    raw = (
        params.utilization.apply(m.utilization)
        + params.volatility.apply(m.volatility)
        + params.liquidity_points[m.liquidity]
        + params.audit.apply(100 - m.audit_score)
        + params.age.apply(params.age.cap_days - min(m.age_days, params.age.cap_days))
    )
    return min(max(raw, params.clamp_min), params.clamp_max)


def allocate(jediswap_risk: int, ekubo_risk: int, apys: Apys) -> tuple[int, int]:
    """Split in bps, proportional to APY per unit of risk; the remainder goes to ekubo."""
    jediswap_weight = apys.jediswap * BPS // (jediswap_risk + 1)
    ekubo_weight = apys.ekubo * BPS // (ekubo_risk + 1)
    jediswap_pct = jediswap_weight * BPS // (jediswap_weight + ekubo_weight)
    return jediswap_pct, BPS - jediswap_pct


def policy_violations(
    policy: PolicyTerms, metrics: tuple[ProtocolMetrics, ProtocolMetrics], pcts: tuple[int, int]
) -> int:
    """Bitmask over POLICY_RULES; 0 means the decision passes."""
    broken = (
        any(p > policy.max_single for p in pcts),
        sum(p >= DIVERSIFICATION_FLOOR_BPS for p in pcts) < policy.min_diversification,
        any(m.volatility > policy.max_volatility for m in metrics),
        any(m.liquidity > policy.min_liquidity for m in metrics),
    )
    return sum(1 << bit for bit, hit in enumerate(broken) if hit)


def violated_rules(mask: int) -> list[str]:
    return [rule for bit, rule in enumerate(POLICY_RULES) if mask >> bit & 1]


@dataclass(frozen=True)
class Outcome:
    jediswap_score: int
    ekubo_score: int
    jediswap_pct: int
    ekubo_pct: int
    violations: int

    @property
    def passed(self) -> bool:
        return self.violations == 0


def decide(
    params: ModelParams,
    jediswap: ProtocolMetrics,
    ekubo: ProtocolMetrics,
    apys: Apys,
    policy: PolicyTerms,
) -> Outcome:
    scores = risk_score(params, jediswap), risk_score(params, ekubo)
    pcts = allocate(*scores, apys)
    return Outcome(*scores, *pcts, policy_violations(policy, (jediswap, ekubo), pcts))


def felt_hex(value: int) -> str:
    """The one spelling of a felt we store and show: 0x and 64 lower-case hex digits."""
    return f"0x{value:064x}"


def model_hash(params: ModelParams) -> int:
    """A Starknet felt naming the model: Poseidon over the family id and the parameters."""
    return HashMethod.POSEIDON.hash_many([encode_shortstring(FAMILY_ID), *params.to_elements()])
