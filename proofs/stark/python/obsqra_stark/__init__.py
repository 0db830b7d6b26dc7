"""STARK proofs of obsqra risk decisions: the prover and the one verifier (crate ``proofs/stark``).

The service proves with it, and an auditor checks a downloaded proof file with it alone:

    python -m obsqra_stark obsqra-decision-42-0123456789ab.proof.json
"""

from . import _stark

__version__: str = _stark.__version__
