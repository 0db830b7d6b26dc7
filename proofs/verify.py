"""Check a downloaded proof file with no database and no Django settings:

    python -m proofs.verify decision-42.proof.json
"""

import argparse
import sys
from pathlib import Path

from allocations.risk import POLICY_RULES

from . import _stark
from .proof_file import ProofFile, ProofFileError
from .statement import VerificationError, verify


class InvalidProof(ValueError):
    """The file is unreadable or its proof does not prove its statement."""


def check_proof_file(data: bytes) -> ProofFile:
    try:
        proof_file = ProofFile.decode(data)
        verify(proof_file.proof, proof_file.statement)
    except (ProofFileError, VerificationError) as exc:
        raise InvalidProof(str(exc)) from None
    return proof_file


def summary(proof_file: ProofFile) -> str:
    s = proof_file.statement
    rules = ", ".join(s.violated_rules) or f"none (checked: {', '.join(POLICY_RULES)})"
    return "\n".join(
        [
            f"VALID proof {proof_file.proof_hash}",
            f"  prover         {proof_file.prover}, {_stark.security_bits(proof_file.proof)}-bit conjectured security",
            f"  model hash     {s.model_hash}",
            f"  risk scores    jediswap {s.jediswap_score}, ekubo {s.ekubo_score}",
            f"  allocation     jediswap {s.jediswap_pct} bps, ekubo {s.ekubo_pct} bps",
            f"  policy         {'passed' if s.constraints_passed else 'rejected'}; broken rules: {rules}",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m proofs.verify", description=__doc__.splitlines()[0])
    parser.add_argument("file", help="proof file, or - for standard input")
    args = parser.parse_args(argv)
    try:
        data = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as exc:
        print(f"cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        proof_file = check_proof_file(data)
    except InvalidProof as exc:
        print(f"INVALID: {exc}", file=sys.stderr)
        return 1
    print(summary(proof_file))
    return 0


if __name__ == "__main__":
    sys.exit(main())
