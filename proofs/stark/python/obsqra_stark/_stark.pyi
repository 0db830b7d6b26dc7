"""Type stub for the Rust extension ``obsqra_stark._stark`` (crate ``proofs/stark``).

STARK proofs (winterfell 0.13.1, Goldilocks + cubic extension, Blake3-256, one fixed option set with
128 bits of proven security) that the parameterised risk model turned the public inputs into the
public outputs. The verifier also binds the FRI remainder to its commitment and checks that the
model hash is Poseidon of the parameters.

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
    "security",
    "encode_proof_file",
    "verify_proof_file",
    "verify_bundle",
    "read_cairo_pie",
    "report",
    "VerificationError",
    "PUBLIC_INPUT_LEN",
    "PUBLIC_INPUT_NAMES",
    "SECURITY",
    "PROVER_NAME",
    "BROKEN_PROVER_NAMES",
    "PROOF_FILE_FORMAT_VERSION",
    "PROOF_FILE_MEDIA_TYPE",
    "BUNDLE_FORMAT",
    "BUNDLE_FORMAT_VERSION",
    "BUNDLE_MEDIA_TYPE",
    "BUNDLE_MAX_BYTES",
    "ZIP_MAGIC",
    "CAIRO_PROGRAM_HASH",
    "CAIRO_LAYOUT",
    "WINTERFELL_VERSION",
    "__version__",
    "PROOF_OPTIONS",
]

__version__: Final[str]
PROVER_NAME: Final[str]
PUBLIC_INPUT_LEN: Final[int]
PUBLIC_INPUT_NAMES: Final[tuple[str, ...]]
BROKEN_PROVER_NAMES: Final[tuple[str, ...]]
"""Provers whose verifier accepted forged proofs; their files are refused."""
PROOF_FILE_FORMAT_VERSION: Final[int]
PROOF_FILE_MEDIA_TYPE: Final[str]
BUNDLE_FORMAT: Final[str]
BUNDLE_FORMAT_VERSION: Final[int]
BUNDLE_MEDIA_TYPE: Final[str]
BUNDLE_MAX_BYTES: Final[int]
ZIP_MAGIC: Final[bytes]
"""What a bundle (any zip) starts with: ``report`` checks such data as a bundle."""
CAIRO_PROGRAM_HASH: Final[str]
"""Pedersen program hash of proofs/cairo/risk_decision.cairo (cairo-lang 0.14.0.1): the only program a bundle's PIE may run."""
CAIRO_LAYOUT: Final[str]
WINTERFELL_VERSION: Final[str]

class _Security(TypedDict):
    conjectured_bits: int
    proven_bits: int

SECURITY: Final[_Security]
"""Security of every proof made by ``prove`` (the only option set ``verify`` accepts)."""

class _VerifiedFile(TypedDict):
    prover: str
    security: _Security
    statement: str
    """The statement as canonical JSON text."""
    public_inputs: list[int]
    proof_hash: str

class _VerifiedBundle(_VerifiedFile):
    bundle_hash: str
    """0x + SHA-256 of the bundle's bytes."""
    manifest: str
    """The manifest as JSON text."""

class _CairoPie(TypedDict):
    program_hash: int
    output: list[int]
    steps: int

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

    The message is a plain reason, e.g. ``the statement is out of bounds: ...``, ``the model hash
    does not name these parameters: ...``, ``the proof is corrupted: ...``, ``the proof was made
    with options this verifier does not accept: ...``, ``the proof is forged: ...``, ``the proof
    does not match the claimed statement: ...`` or a proof-file reason. From ``verify_bundle`` it
    is ``<part>: <reason>`` and ``part`` names the bundle's file or manifest section at fault.
    """

    part: str

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

def security(proof: bytes) -> _Security:
    """Conjectured and proven security (bits) of the options ``proof`` was made with.

    Raises:
        VerificationError: the proof cannot be parsed.
    """

def encode_proof_file(public_inputs: Sequence[int], proof: bytes) -> bytes:
    """The canonical proof file (JSON bytes) for a proof of the 44-value ``public_inputs``."""

def verify_proof_file(data: bytes) -> _VerifiedFile:
    """Check a whole proof file: canonical bytes, version, prover, claimed security, the
    statement's bounds and model hash, and the STARK proof. Releases the GIL.

    Raises:
        VerificationError: with the reason the file is refused.
    """

def verify_bundle(data: bytes) -> _VerifiedBundle:
    """Check a whole decision bundle: every file's hash, the proof file, that the statement and the
    manifest's decision, model version, policy and proof record equal what the proof proves, that
    the Cairo PIE is a run of ``CAIRO_PROGRAM_HASH`` with the proven output, and both facts.

    Raises:
        VerificationError: ``part`` names what is wrong.
    """

def read_cairo_pie(data: bytes) -> _CairoPie:
    """What the bundle verifier reads from a Cairo PIE (no VM): Pedersen program hash, output, steps.

    Raises:
        VerificationError: the PIE is malformed.
    """

def report(data: bytes, as_json: bool = False) -> tuple[bool, str]:
    """The verdict on a proof file or a bundle (any zip) as ``obsqra-verify`` prints it."""
