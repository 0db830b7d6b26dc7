"""The downloadable proof file: one canonical JSON document with the prover, its security, the statement and the proof.

The Rust verifier (proofs/stark/src/proof_file.rs) writes and reads it, so every path (this app, the CLIs, the
standalone verifier) sees one format: the SHA-256 of its canonical bytes is the proof hash published everywhere, and a
file whose bytes are not canonical, or that repeats a key, is refused.
"""

import hashlib
from dataclasses import dataclass

from obsqra_stark import _stark

from .statement import PublicInputs

MEDIA_TYPE: str = _stark.PROOF_FILE_MEDIA_TYPE


def encode(public_inputs: PublicInputs, proof: bytes) -> bytes:
    return _stark.encode_proof_file(public_inputs.to_vector(), proof)


def file_hash(data: bytes) -> str:
    return "0x" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class VerifiedProofFile:
    prover: str
    statement: PublicInputs
    proof_hash: str
    conjectured_bits: int
    proven_bits: int


def verify_file(data: bytes) -> VerifiedProofFile:
    """Everything in the file checked; raises statement.VerificationError with a plain reason otherwise."""
    return verified_from(_stark.verify_proof_file(data))


def verified_from(verified: dict) -> VerifiedProofFile:
    """What the Rust verifier answers for a proof it accepted."""
    return VerifiedProofFile(
        prover=verified["prover"],
        statement=PublicInputs.model_validate_json(verified["statement"]),
        proof_hash=verified["proof_hash"],
        conjectured_bits=verified["security"]["conjectured_bits"],
        proven_bits=verified["security"]["proven_bits"],
    )
