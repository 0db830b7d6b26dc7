"""proofs.facts against the verifiers' own published vectors, and a decision's fact recomputed with
cairo-lang's bootloader code from the Cairo PIE alone.

Sources (read at these commits):
- HerodotusDev/atlantic-examples 4867acacf16474f6679e0b46de59f85c3fa77f69:
  l2-verification-contract/src/lib.cairo (tests test_get_cairo0_fact_hash, test_get_cairo1_fact_hash,
  get_config) and l1-verification-contract/test/FibonacciRegistry.t.sol (test_factHashCairo0/1).
- HerodotusDev/integrity 4ce9504fdc933171251cf7473b75ab67db5e03b6: src/lib_utils.cairo
  (calculate_fact_hash, calculate_bootloaded_fact_hash, SHARP_/STONE_BOOTLOADER_PROGRAM_HASH).
- starkware-libs/cairo-lang 66355d7d99f1962ff9ccba8d0dbacbce3bd79bf8 (v0.14.0.1):
  src/starkware/cairo/bootloaders/simple_bootloader/run_simple_bootloader.cairo (the output: number of
  tasks, then per task its size, program hash and output) and bootloaders/hash_program.py.
No database: nothing here is marked django_db.
"""

import pytest

from proofs import facts

# atlantic-examples: the program hash of cairo0-python-vm/program.cairo as Atlantic reports it
# ("program_hash" in the query metadata); cairo-lang 0.14.0.1's cairo-hash-program gives the same
# value for it with the default (Pedersen) hash function.
CAIRO0_PROGRAM_HASH = 0x407908712E70DD914B006062D8D70BD8AEAE06BCFC973CBD4309E7F3A2E825B
FIB_OUTPUT = [10, 55]
FIB_INTEGRITY_FACT = 0x1C446D13EFC5A3A16387EEEC2C9347E9FD44E195B178916E1BD27C0A18220F1
FIB_SHARP_FACT = 0xFABC599614BBD9752BD58D365C7434F7F61792A6FC2FFBD3A0256636915C2C58

# atlantic-examples: a Cairo 1 program run by Atlantic's Cairo 1 bootloader, itself bootloaded by SHARP.
CAIRO1_BOOTLOADER_PROGRAM_HASH = 0x288BA12915C0C7E91DF572CF3ED0C9F391AA673CB247C5A208BEAA50B668F09
CAIRO1_OUTPUT_CONST = 0x49EE3EBA8C1600700EE1B87EB599F16716B0B1022947733551FDE4050CA6804
CAIRO1_PROGRAM_HASH = 0x1B2F325BF7C611B8CF643EED5451102DF4128CB17D621DAD15E2CDB9D3E3AFB
CAIRO1_INTEGRITY_FACT = 0x5C596AC545E4CA0E8C459FF2AF206315E49EC121FDC101D35B5AB038B823923
CAIRO1_SHARP_FACT = 0x11927CDE0C1B71AC1B00A024E2CD8A60D0FE0E1C71C227DBD1C07960DE5BF777

# Integrity src/lib_utils.cairo.
INTEGRITY_SHARP_BOOTLOADER = 0x5AB580B04E3532B6B18F81CFA654A05E29DD8E2352D88DF1E765A84072DB07
INTEGRITY_STONE_BOOTLOADER = 0x40519557C48B25E7E7D27CB27297300B94909028C327B385990F0B649920CC3


def cairo1_bootloader_output(index: int, value: int) -> list[int]:
    """atlantic-examples calculate_cairo1_fact_hash's bootloader_output for input [index], output [value]."""
    return [0, CAIRO1_OUTPUT_CONST, 1, 1 + 1 + 5, CAIRO1_PROGRAM_HASH, 0, 1, value, 1, index]


def test_the_bootloader_atlantic_proves_under_is_integritys_sharp_bootloader():
    assert facts.SHARP_BOOTLOADER_PROGRAM_HASH == INTEGRITY_SHARP_BOOTLOADER


def test_atlantic_examples_cairo0_integrity_fact():
    assert facts.bootloaded_fact(CAIRO0_PROGRAM_HASH, FIB_OUTPUT) == FIB_INTEGRITY_FACT


def test_atlantic_examples_cairo1_integrity_fact():
    assert facts.bootloaded_fact(CAIRO1_BOOTLOADER_PROGRAM_HASH, cairo1_bootloader_output(17, 1597)) == (
        CAIRO1_INTEGRITY_FACT
    )


def test_atlantic_examples_cairo0_sharp_l1_fact():
    assert facts.sharp_fact(CAIRO0_PROGRAM_HASH, FIB_OUTPUT) == FIB_SHARP_FACT


def test_atlantic_examples_cairo1_sharp_l1_fact():
    assert facts.sharp_fact(CAIRO1_BOOTLOADER_PROGRAM_HASH, cairo1_bootloader_output(17, 1597)) == CAIRO1_SHARP_FACT


def test_the_bootloader_output_is_n_tasks_size_program_hash_output():
    assert facts.bootloader_output(CAIRO0_PROGRAM_HASH, FIB_OUTPUT) == [1, 4, CAIRO0_PROGRAM_HASH, 10, 55]


def test_direct_fact_is_poseidon_many_of_program_hash_and_output_hash():
    """Integrity calculate_fact_hash: PoseidonImpl update(program_hash).update(H(output)), i.e. hash_many."""
    from starkware.cairo.common.poseidon_hash import poseidon_hash, poseidon_hash_many

    output_hash = poseidon_hash_many(FIB_OUTPUT)
    assert facts.direct_fact(CAIRO0_PROGRAM_HASH, FIB_OUTPUT) == poseidon_hash_many([CAIRO0_PROGRAM_HASH, output_hash])
    # The two-input hash (hades([a, b, 2])) is another function: a fact built with it never matches.
    assert facts.direct_fact(CAIRO0_PROGRAM_HASH, FIB_OUTPUT) != poseidon_hash(CAIRO0_PROGRAM_HASH, output_hash)


# The smallest lies a service could tell about the published statement: each gives another fact.
@pytest.mark.parametrize(
    "lie",
    [
        pytest.param(lambda: facts.bootloaded_fact(CAIRO0_PROGRAM_HASH, [10, 56]), id="other-output"),
        pytest.param(lambda: facts.bootloaded_fact(CAIRO0_PROGRAM_HASH, [10]), id="shorter-output"),
        pytest.param(
            lambda: facts.bootloaded_fact(CAIRO0_PROGRAM_HASH, FIB_OUTPUT, INTEGRITY_STONE_BOOTLOADER),
            id="stone-bootloader",
        ),
        pytest.param(lambda: facts.bootloaded_fact(CAIRO0_PROGRAM_HASH + 1, FIB_OUTPUT), id="other-program"),
        pytest.param(lambda: facts.direct_fact(CAIRO0_PROGRAM_HASH, FIB_OUTPUT), id="not-bootloaded"),
    ],
)
def test_a_fact_for_anything_else_differs(lie):
    assert lie() != FIB_INTEGRITY_FACT


# ---------------------------------------------------------------------------------------------
# A decision's fact, recomputed from its Cairo PIE with cairo-lang only
# ---------------------------------------------------------------------------------------------

V2 = [25, 10000, 0, 40, 10000, 0, 0, 5, 15, 30, 3, 10, 0, 730, 10, 730, 0, 5, 95]
SEPOLIA = [500, 2000, 2, 85, 365]
POLICY = [6000, 2, 5000, 2]


@pytest.fixture(scope="module")
def run():
    pytest.importorskip("starkware.cairo.lang", reason="cairo-lang is not installed")
    from proofs import cairo_statement

    return cairo_statement.run_decision(V2, SEPOLIA, SEPOLIA, (850, 1210), POLICY)


def test_a_decisions_facts_recompute_from_the_pie_with_cairo_langs_bootloader_code(run):
    """What a bootloader does with the PIE, spelled with cairo-lang's own functions, not proofs.facts."""
    from starkware.cairo.bootloaders.compute_fact import generate_program_fact
    from starkware.cairo.bootloaders.fact_topology import FactTopology
    from starkware.cairo.bootloaders.generate_fact import get_program_output
    from starkware.cairo.bootloaders.hash_program import HashFunction, compute_program_hash_chain
    from starkware.cairo.common.poseidon_hash import poseidon_hash_many
    from starkware.cairo.lang.vm.cairo_pie import CairoPie

    pie = CairoPie.deserialize(run.cairo_pie_bytes)
    task_hash = compute_program_hash_chain(pie.program, HashFunction.PEDERSEN)
    output = get_program_output(pie)
    bootloader_output = [1, len(output) + 2, task_hash, *output]
    expected = poseidon_hash_many([INTEGRITY_SHARP_BOOTLOADER, poseidon_hash_many(bootloader_output)])

    assert run.program_hash == task_hash and run.output == output
    assert run.integrity_fact_hash == expected
    assert run.sharp_fact_hash == int(generate_program_fact(task_hash, output, FactTopology.trivial(len(output))), 16)


def test_the_direct_route_hashes_the_proof_mode_program_segment():
    pytest.importorskip("starkware.cairo.lang", reason="cairo-lang is not installed")
    from starkware.cairo.common.poseidon_hash import poseidon_hash_many

    from proofs import cairo_statement

    proof = cairo_statement.run_decision_proof_mode(V2, SEPOLIA, SEPOLIA, (850, 1210), POLICY)
    program_hash = poseidon_hash_many(proof.program_segment)
    assert proof.integrity_fact_hash == poseidon_hash_many([program_hash, poseidon_hash_many(proof.output)])
