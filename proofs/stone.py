"""Optional local backend: the Stone prover (``cpu_air_prover``), when it is on PATH.

Pure parts (always available, no Django): the FRI parameters for a trace length and the
Integrity-compatible parameter file. The prover itself is an external C++ binary that no package
registry ships; ``stone_prove`` runs it over the proof-mode run of proofs.cairo_statement.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

PROVER_BINARY = "cpu_air_prover"
# Integrity verifies Stone 6 proofs of this shape: keccak commitments masked to 160 bits, a
# Poseidon channel. security bits = n_queries * log_n_cosets + proof_of_work_bits.
N_QUERIES = 18
LOG_N_COSETS = 4
PROOF_OF_WORK_BITS = 24
LAST_LAYER_DEGREE_BOUND = 128
MAX_FRI_STEP = 4


def security_bits(n_queries: int = N_QUERIES, log_n_cosets: int = LOG_N_COSETS, pow_bits: int = PROOF_OF_WORK_BITS):
    return n_queries * log_n_cosets + pow_bits


def fri_parameters(n_steps: int, last_layer_degree_bound: int = LAST_LAYER_DEGREE_BOUND) -> dict:
    """FRI steps satisfying log2(last_layer_degree_bound) + sum(fri_step_list) = log2(n_steps) + 4.

    The first step is 0 (Stone's convention); the others are at most 4 and never 1, which Integrity
    does not accept. The last layer bound shrinks for tiny traces.
    """
    if n_steps < 1 or n_steps & (n_steps - 1):
        raise ValueError(f"n_steps must be a power of two, got {n_steps}")
    log_bound = int(math.log2(last_layer_degree_bound))
    total = int(math.log2(n_steps)) + 4 - log_bound
    while total < 2 and log_bound > 0:  # a trace this short needs a smaller last layer
        log_bound -= 1
        total += 1
    steps = [MAX_FRI_STEP] * (total // MAX_FRI_STEP)
    remainder = total % MAX_FRI_STEP
    if remainder == 1 and steps:
        steps[-1], remainder = MAX_FRI_STEP - 1, 2
    if remainder:
        steps.append(remainder)
    return {"fri_step_list": [0, *steps], "last_layer_degree_bound": 2**log_bound}


def parameter_file(n_steps: int) -> dict:
    """The --parameter_file of cpu_air_prover, in the shape Integrity's verifier expects."""
    return {
        "field": "PrimeField0",
        "channel_hash": "poseidon3",
        "commitment_hash": "keccak256_masked160_lsb",
        "n_verifier_friendly_commitment_layers": 9999,
        "pow_hash": "keccak256",
        "statement": {"page_hash": "pedersen"},
        "stark": {
            "fri": {
                **fri_parameters(n_steps),
                "n_queries": N_QUERIES,
                "proof_of_work_bits": PROOF_OF_WORK_BITS,
            },
            "log_n_cosets": LOG_N_COSETS,
        },
        "use_extension_field": False,
        "verifier_friendly_channel_updates": True,
        "verifier_friendly_commitment_hash": "poseidon3",
    }


PROVER_CONFIG = {
    "constraint_polynomial_task_size": 256,
    "n_out_of_memory_merkle_layers": 1,
    "table_prover_n_tasks_per_segment": 32,
}


def available() -> bool:
    return shutil.which(PROVER_BINARY) is not None


def stone_prove(params, jediswap, ekubo, apys, policy, *, timeout: float = 600) -> dict:
    """Proves the decision's proof-mode run with Stone; returns the prover's JSON proof."""
    from starkware.cairo.lang.vm.cairo_run import write_air_public_input, write_binary_memory, write_binary_trace

    from . import cairo_statement

    if not available():
        raise FileNotFoundError(f"{PROVER_BINARY} is not on PATH")
    run = cairo_statement.run_decision_proof_mode(params, jediswap, ekubo, apys, policy)
    runner = run.runner
    with tempfile.TemporaryDirectory(prefix="obsqra-stone-") as tmp:
        d = Path(tmp)
        with open(d / "trace.bin", "wb") as f:
            write_binary_trace(f, runner.relocated_trace)
        with open(d / "memory.bin", "wb") as f:
            write_binary_memory(f, runner.relocated_memory, math.ceil(runner.program.prime.bit_length() / 8))
        rc_min, rc_max = runner.get_perm_range_check_limits()
        with open(d / "public.json", "w") as f:
            write_air_public_input(
                layout=cairo_statement.LAYOUT,
                public_input_file=f,
                memory=runner.relocated_memory,
                public_memory_addresses=runner.segments.get_public_memory_addresses(
                    segment_offsets=runner.get_segment_offsets()
                ),
                memory_segment_addresses=runner.get_memory_segment_addresses(),
                trace=runner.relocated_trace,
                rc_min=rc_min,
                rc_max=rc_max,
            )
        private = {
            "trace_path": str(d / "trace.bin"),
            "memory_path": str(d / "memory.bin"),
            **runner.get_air_private_input(),
        }
        (d / "private.json").write_text(json.dumps(private))
        (d / "params.json").write_text(json.dumps(parameter_file(run.n_steps)))
        (d / "config.json").write_text(json.dumps(PROVER_CONFIG))
        subprocess.run(
            [
                PROVER_BINARY,
                f"--out_file={d / 'proof.json'}",
                f"--private_input_file={d / 'private.json'}",
                f"--public_input_file={d / 'public.json'}",
                f"--prover_config_file={d / 'config.json'}",
                f"--parameter_file={d / 'params.json'}",
                "--generate_annotations",
            ],
            check=True,
            capture_output=True,
            timeout=timeout,
            env={**os.environ},
        )
        return json.loads((d / "proof.json").read_text())
