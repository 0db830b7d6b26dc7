"""Every fact a decision's proof is registered under, computed as the verifiers compute them.

No Django and no cairo-lang here: plain functions of felts (starknet-py's Poseidon, eth-hash's
keccak), so a standalone verifier can recompute any fact from a program hash and an output.

* Integrity (Herodotus, Starknet) hashes with Cairo's ``PoseidonImpl::new().update(a)...finalize()``,
  which is ``poseidon_hash_many([a, ...])``, never the two-input ``poseidon_hash(a, b)``.
  - direct route (a proof-mode run proven as is, e.g. by Stone): the program hash is
    ``poseidon_hash_many(program segment)`` and ``fact = poseidon_hash_many([program_hash,
    poseidon_hash_many(output)])`` (Integrity ``calculate_fact_hash``).
  - bootloaded route (a Cairo PIE proven by Atlantic): the proven program is the SHARP simple
    bootloader; its output for one task is ``[1, len(output) + 2, task_program_hash, *output]``
    where the task's program hash is cairo-lang's Pedersen ``compute_program_hash_chain`` (the
    same value SHARP and Atlantic call the program hash) and ``fact = poseidon_hash_many(
    [bootloader_program_hash, poseidon_hash_many(bootloader_output)])`` (Integrity
    ``calculate_bootloaded_fact_hash``).
* SHARP on Ethereum: ``keccak(program_hash || keccak(output))`` over 32-byte big-endian words, for a
  program with a single output page (cairo-lang ``generate_program_fact`` with a trivial topology).
"""

from __future__ import annotations

from collections.abc import Sequence

from eth_hash.auto import keccak
from starknet_py.hash.hash_method import HashMethod

# Integrity's SHARP_BOOTLOADER_PROGRAM_HASH: the bootloader Atlantic proves a Cairo PIE under.
SHARP_BOOTLOADER_PROGRAM_HASH = 0x5AB580B04E3532B6B18F81CFA654A05E29DD8E2352D88DF1E765A84072DB07

_poseidon = HashMethod.POSEIDON.hash_many


def direct_fact(program_hash: int, output: Sequence[int]) -> int:
    """Integrity's fact of a program proven directly."""
    return _poseidon([program_hash, _poseidon(list(output))])


def bootloader_output(task_program_hash: int, output: Sequence[int]) -> list[int]:
    """What the simple bootloader writes for one task: n_tasks, size (output + 2), program hash, output."""
    output = list(output)
    return [1, len(output) + 2, task_program_hash, *output]


def bootloaded_fact(
    task_program_hash: int, output: Sequence[int], bootloader_program_hash: int = SHARP_BOOTLOADER_PROGRAM_HASH
) -> int:
    """Integrity's fact of one task run under a bootloader (by default SHARP's, as Atlantic does)."""
    return direct_fact(bootloader_program_hash, bootloader_output(task_program_hash, output))


def sharp_fact(program_hash: int, output: Sequence[int]) -> int:
    """SHARP's L1 fact of a program with a single output page."""
    words = b"".join(felt.to_bytes(32, "big") for felt in output)
    return int.from_bytes(keccak(program_hash.to_bytes(32, "big") + keccak(words)), "big")
