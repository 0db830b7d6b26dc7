"""Type stub for the Rust extension ``proofs._stark`` (crate ``proofs/stark``).

STARK proofs (winterfell 0.13.1, Goldilocks + quadratic extension, Blake3-256) that the
parameterised risk model turned the public inputs into the public outputs.

Inputs to ``prove`` / ``evaluate`` (36 ints): ``[model_hash, *params(19), *jediswap(5),
*ekubo(5), apy_jediswap, apy_ekubo, *policy(4)]``; ``model_hash`` is a Starknet felt (< 2**252).

Public input vector (``PUBLIC_INPUT_LEN`` = 44 ints), see ``PUBLIC_INPUT_NAMES``:
  0..3   model hash as 4 little-endian 63-bit limbs
  4..22  params, 23..27 jediswap metrics, 28..32 ekubo metrics, 33..34 APYs, 35..38 policy,
  39..40 risk scores, 41..42 pcts (bps), 43 violations mask.
"""

from typing import Final, Sequence, TypedDict

__all__ = [
    "prove",
    "verify",
    "evaluate",
    "security_bits",
    "VerificationError",
    "PUBLIC_INPUT_LEN",
    "PUBLIC_INPUT_NAMES",
    "SECURITY_BITS",
    "MIN_SECURITY_BITS",
    "PROVER_NAME",
    "__version__",
    "PROOF_OPTIONS",
]

__version__: Final[str]
PROVER_NAME: Final[str]
PUBLIC_INPUT_LEN: Final[int]
PUBLIC_INPUT_NAMES: Final[tuple[str, ...]]
SECURITY_BITS: Final[int]
"""Conjectured security (bits) of proofs made by ``prove``."""
MIN_SECURITY_BITS: Final[int]
"""``verify`` refuses proofs below this conjectured security."""

class _ProofOptions(TypedDict):
    num_queries: int
    blowup_factor: int
    grinding_factor: int
    field_extension: str
    fri_folding_factor: int
    fri_remainder_max_degree: int
    hash_function: str
    trace_length: int
    trace_width: int

PROOF_OPTIONS: Final[_ProofOptions]

class VerificationError(ValueError):
    """The verifier rejected a proof or its public inputs.

    The message starts with the reason: ``public input N (name) out of range: ...``,
    ``expected 44 public inputs, got N``, ``proof deserialization failed: ...``,
    ``insufficient security: ...`` or ``verification failed: ...``.
    """

def prove(inputs: Sequence[int]) -> tuple[bytes, list[int]]:
    """Evaluate the model on ``inputs`` (36 ints) and prove the result.

    Returns ``(proof_bytes, public_inputs)`` with the 44-value public input vector.
    Releases the GIL while proving.

    Raises:
        ValueError: wrong length, or an input out of bounds (message names its index and field).
        TypeError: an element is not an ``int`` (``bool`` is refused).
        RuntimeError: internal prover failure (not expected for valid inputs).
    """

def verify(proof: bytes, public_inputs: Sequence[int]) -> None:
    """Verify ``proof`` against the 44-value ``public_inputs``; returns ``None`` if valid.

    Public inputs are bound-checked first. Releases the GIL while verifying.

    Raises:
        VerificationError: invalid public inputs, malformed or too weak proof, or a proof that
            does not verify.
        TypeError: an element of ``public_inputs`` is not an ``int``.
    """

def evaluate(inputs: Sequence[int]) -> list[int]:
    """The 44-value public input vector for ``inputs`` (36 ints), without a proof.

    Raises the same ``ValueError`` / ``TypeError`` as ``prove``.
    """

def security_bits(proof: bytes) -> int:
    """Conjectured security (bits) of the options ``proof`` was made with.

    Raises:
        VerificationError: the proof cannot be parsed.
    """
