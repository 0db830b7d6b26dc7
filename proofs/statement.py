"""What a decision proof states, and the Python face of the winterfell prover (no Django here).

The STARK proves that, for the model parameters, both metric sets, the APYs and the policy in the
public inputs, the risk family yields exactly the scores, the split and the policy bitmask in them.
The model hash is bound through the proof transcript, and the Rust verifier checks it is Poseidon of the parameters.
"""

import json

from obsqra_stark import _stark
from pydantic import BaseModel, ConfigDict, Field, field_validator

from allocations import risk

VerificationError = _stark.VerificationError
PROVER_NAME: str = _stark.PROVER_NAME
# Proofs of these provers passed a verifier that accepted forged proofs: they prove nothing.
BROKEN_PROVER_NAMES: tuple[str, ...] = _stark.BROKEN_PROVER_NAMES
FELT_LIMB_BITS = 63
FELT_LIMBS = 4


class PublicInputs(BaseModel):
    """The statement a proof is checked against; its field order is the STARK's public input order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model_hash: str = Field(pattern=r"^0x[0-9a-f]{64}$", description="Poseidon felt of the model, 0x + 64 hex")
    parameters: risk.ModelParams
    jediswap_metrics: risk.ProtocolMetrics
    ekubo_metrics: risk.ProtocolMetrics
    apys: risk.Apys
    policy: risk.PolicyTerms
    jediswap_score: int = Field(ge=0)
    ekubo_score: int = Field(ge=0)
    jediswap_pct: int = Field(ge=0, le=risk.BPS)
    ekubo_pct: int = Field(ge=0, le=risk.BPS)
    violations: int = Field(ge=0, lt=1 << len(risk.POLICY_RULES))

    @field_validator("model_hash")
    @classmethod
    def _below_field_bound(cls, value: str) -> str:
        if int(value, 16) >> (FELT_LIMB_BITS * FELT_LIMBS):
            raise ValueError("model hash is not a Starknet felt")
        return value

    @property
    def constraints_passed(self) -> bool:
        return self.violations == 0

    @property
    def violated_rules(self) -> list[str]:
        return risk.violated_rules(self.violations)

    def prover_inputs(self) -> list[int]:
        return [
            int(self.model_hash, 16),
            *self.parameters.to_elements(),
            *self.jediswap_metrics.to_elements(),
            *self.ekubo_metrics.to_elements(),
            self.apys.jediswap,
            self.apys.ekubo,
            *self.policy.to_elements(),
        ]

    def cairo_output(self) -> list[int]:
        """The Cairo statement's output segment for this statement: the inputs as proven, then the results."""
        return [*self.prover_inputs(), self.jediswap_score, self.ekubo_score, self.jediswap_pct, self.ekubo_pct,
                self.violations]  # fmt: skip

    def to_vector(self) -> list[int]:
        """The STARK public input vector: model hash limbs, the inputs, then the outputs."""
        model_hash = int(self.model_hash, 16)
        limbs = [(model_hash >> (FELT_LIMB_BITS * i)) & ((1 << FELT_LIMB_BITS) - 1) for i in range(FELT_LIMBS)]
        outputs = [self.jediswap_score, self.ekubo_score, self.jediswap_pct, self.ekubo_pct, self.violations]
        return [*limbs, *self.prover_inputs()[1:], *outputs]

    @classmethod
    def for_decision(
        cls,
        params: risk.ModelParams,
        jediswap: risk.ProtocolMetrics,
        ekubo: risk.ProtocolMetrics,
        apys: risk.Apys,
        policy: risk.PolicyTerms,
    ) -> "PublicInputs":
        outcome = risk.decide(params, jediswap, ekubo, apys, policy)
        return cls(
            model_hash=risk.felt_hex(risk.model_hash(params)),
            parameters=params,
            jediswap_metrics=jediswap,
            ekubo_metrics=ekubo,
            apys=apys,
            policy=policy,
            jediswap_score=outcome.jediswap_score,
            ekubo_score=outcome.ekubo_score,
            jediswap_pct=outcome.jediswap_pct,
            ekubo_pct=outcome.ekubo_pct,
            violations=outcome.violations,
        )


def readable_json(public_inputs: dict) -> bytes:
    """The statement as people read it (the public-inputs download, a bundle's statement.json)."""
    return json.dumps(public_inputs, indent=2, sort_keys=True).encode() + b"\n"


def prove(public_inputs: PublicInputs) -> bytes:
    """A STARK proof of the statement; the prover recomputes the outputs and refuses wrong ones."""
    proof, vector = _stark.prove(public_inputs.prover_inputs())
    if vector != public_inputs.to_vector():
        raise ValueError("the prover computed other outputs than the statement claims")
    return proof


def verify(proof: bytes, public_inputs: PublicInputs) -> bool:
    """True for a valid proof of exactly this statement; raises VerificationError with the reason otherwise."""
    _stark.verify(proof, public_inputs.to_vector())
    return True
