"""Check a downloaded proof file with no database and no Django settings:

    python -m proofs.verify obsqra-decision-42-0123456789ab.proof.json
"""

import argparse
import sys
from pathlib import Path

from allocations.risk import POLICY_RULES

from .proof_file import VerifiedProofFile, verify_file
from .statement import VerificationError


class InvalidProof(ValueError):
    """The file is unreadable or its proof does not prove its statement."""


def check_proof_file(data: bytes) -> VerifiedProofFile:
    try:
        return verify_file(data)
    except VerificationError as exc:
        raise InvalidProof(str(exc)) from None


def summary(verified: VerifiedProofFile) -> str:
    s = verified.statement
    rules = ", ".join(s.violated_rules) or f"none (checked: {', '.join(POLICY_RULES)})"
    return "\n".join(
        [
            f"VALID proof {verified.proof_hash}",
            f"  prover         {verified.prover}",
            f"  security       {verified.proven_bits} bits proven, {verified.conjectured_bits} bits conjectured",
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
        verified = check_proof_file(data)
    except InvalidProof as exc:
        print(f"INVALID: {exc}", file=sys.stderr)
        return 1
    print(summary(verified))
    return 0


if __name__ == "__main__":
    sys.exit(main())
