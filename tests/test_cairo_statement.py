"""The Cairo 0 statement (proofs/cairo/risk_decision.cairo) against allocations.risk, run in-process.

No database: nothing here is marked django_db. Needs cairo-lang (skipped without it).
"""

import os
import subprocess
import sys
import zipfile
from io import BytesIO
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

pytest.importorskip("starkware.cairo.lang", reason="cairo-lang is not installed")

from allocations import risk
from proofs import cairo_statement as cs

REPO = Path(__file__).resolve().parent.parent

# The published formulas (as in conftest.py, which this file does not import: it needs Django).
V1 = [35, 10000, 0, 30, 10000, 0, 15, 10, 5, 0, 1, 5, 0, 1000, 1, 100, 99, 5, 95]
V2 = [25, 10000, 0, 40, 10000, 0, 0, 5, 15, 30, 3, 10, 0, 730, 10, 730, 0, 5, 95]
PUBLISHED_JEDISWAP = [6500, 3500, 1, 98, 800]
PUBLISHED_EKUBO = [5000, 2500, 2, 95, 600]
SEPOLIA = [500, 2000, 2, 85, 365]
POLICY = [6000, 2, 5000, 2]

CAIRO_SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def models(params, jediswap, ekubo, apys, policy):
    return (
        risk.ModelParams.from_elements(list(params)),
        risk.ProtocolMetrics(**dict(zip(risk.ProtocolMetrics.model_fields, jediswap))),
        risk.ProtocolMetrics(**dict(zip(risk.ProtocolMetrics.model_fields, ekubo))),
        risk.Apys(jediswap=apys[0], ekubo=apys[1]),
        risk.PolicyTerms(**dict(zip(risk.PolicyTerms.model_fields, policy))),
    )


def assert_matches_reference(run, params, jediswap, ekubo, apys, policy):
    p, j, e, a, pol = models(params, jediswap, ekubo, apys, policy)
    expected = risk.decide(p, j, e, a, pol)
    decision = cs.decode_output(run.output)
    assert len(run.output) == cs.OUTPUT_SIZE == 41
    assert decision.outcome == (
        expected.jediswap_score,
        expected.ekubo_score,
        expected.jediswap_pct,
        expected.ekubo_pct,
        expected.violations,
    )
    assert decision.model_hash == risk.model_hash(p)
    assert list(decision.params) == p.to_elements()
    assert list(decision.jediswap) == j.to_elements()
    assert list(decision.ekubo) == e.to_elements()
    assert decision.apys == (a.jediswap, a.ekubo)
    assert list(decision.policy) == pol.to_elements()
    return decision


# ---------------------------------------------------------------------------------------------
# Published examples
# ---------------------------------------------------------------------------------------------


def test_published_v1_example():
    run = cs.run_decision(V1, PUBLISHED_JEDISWAP, PUBLISHED_EKUBO, (850, 1210), POLICY)
    decision = assert_matches_reference(run, V1, PUBLISHED_JEDISWAP, PUBLISHED_EKUBO, (850, 1210), POLICY)
    assert (decision.jediswap_score, decision.ekubo_score) == (44, 34)


def test_published_v2_example():
    run = cs.run_decision(V2, SEPOLIA, SEPOLIA, (850, 1210), POLICY)
    decision = assert_matches_reference(run, V2, SEPOLIA, SEPOLIA, (850, 1210), POLICY)
    assert (decision.jediswap_score, decision.ekubo_score) == (33, 33)
    assert (decision.jediswap_pct, decision.ekubo_pct) == (4126, 5874)
    assert decision.violations == 0 and decision.passed


def test_accepts_the_risk_models_themselves():
    p, j, e, a, pol = models(V2, SEPOLIA, SEPOLIA, (850, 1210), POLICY)
    assert cs.run_decision(p, j, e, a, pol).output == cs.run_decision(V2, SEPOLIA, SEPOLIA, (850, 1210), POLICY).output


# ---------------------------------------------------------------------------------------------
# Parity over random valid inputs (risk.py's pydantic bounds)
# ---------------------------------------------------------------------------------------------


@st.composite
def scaled_terms(draw):
    divisor = draw(st.one_of(st.integers(1, 1_000_000), st.sampled_from([1, 2, 5, 10, 100, 730, 10_000])))
    return [draw(st.integers(0, 100_000)), divisor, draw(st.integers(0, min(999_999, divisor - 1)))]


@st.composite
def param_elements(draw):
    u, v, a, g = draw(scaled_terms()), draw(scaled_terms()), draw(scaled_terms()), draw(scaled_terms())
    points = draw(st.lists(st.integers(0, 1000), min_size=4, max_size=4))
    clamp_min = draw(st.integers(0, 1000))
    clamp_max = draw(st.integers(clamp_min, 1000))
    return [*u, *v, *points, *a, draw(st.integers(0, 36_500)), *g, clamp_min, clamp_max]


metric_elements = st.tuples(
    st.integers(0, 10_000), st.integers(0, 10_000), st.integers(0, 3), st.integers(0, 100), st.integers(0, 36_500)
).map(list)
apy_pairs = st.tuples(st.integers(1, 1_000_000), st.integers(1, 1_000_000))
policy_elements = st.tuples(st.integers(0, 10_000), st.integers(0, 2), st.integers(0, 10_000), st.integers(0, 3)).map(
    list
)


@CAIRO_SETTINGS
@given(param_elements(), metric_elements, metric_elements, apy_pairs, policy_elements)
def test_cairo_output_equals_decide_and_model_hash(params, jediswap, ekubo, apys, policy):
    run = cs.run_decision(params, jediswap, ekubo, apys, policy)
    assert_matches_reference(run, params, jediswap, ekubo, apys, policy)


# Policies near the allocation, so every violation bit is exercised both ways.
@CAIRO_SETTINGS
@given(
    st.sampled_from([V1, V2]),
    metric_elements,
    metric_elements,
    apy_pairs,
    st.integers(0, 10_000),
    st.integers(0, 2),
    st.integers(0, 10_000),
    st.integers(0, 3),
)
def test_violation_bits_match_the_reference(params, jediswap, ekubo, apys, max_single, min_div, max_vol, min_liq):
    policy = [max_single, min_div, max_vol, min_liq]
    run = cs.run_decision(params, jediswap, ekubo, apys, policy)
    assert_matches_reference(run, params, jediswap, ekubo, apys, policy)


# ---------------------------------------------------------------------------------------------
# Bounds: every input outside its pydantic range fails the Cairo run (an assertion)
# ---------------------------------------------------------------------------------------------

BASE = (V1, PUBLISHED_JEDISWAP, PUBLISHED_EKUBO, [850, 1210], POLICY)
PARAM_BOUNDS = [
    (0, 100_000), (1, 1_000_000), (0, 999_999),  # utilization
    (0, 100_000), (1, 1_000_000), (0, 999_999),  # volatility
    (0, 1000), (0, 1000), (0, 1000), (0, 1000),  # liquidity points
    (0, 100_000), (1, 1_000_000), (0, 999_999),  # audit
    (0, 36_500), (0, 100_000), (1, 1_000_000), (0, 999_999),  # age
    (0, 1000), (0, 1000),  # clamp
]  # fmt: skip
METRIC_BOUNDS = [(0, 10_000), (0, 10_000), (0, 3), (0, 100), (0, 36_500)]
APY_BOUNDS = [(1, 1_000_000), (1, 1_000_000)]
POLICY_BOUNDS = [(0, 10_000), (0, 2), (0, 10_000), (0, 3)]


def out_of_range_cases():
    for group, bounds in enumerate([PARAM_BOUNDS, METRIC_BOUNDS, METRIC_BOUNDS, APY_BOUNDS, POLICY_BOUNDS]):
        for index, (low, high) in enumerate(bounds):
            for value in (low - 1, high + 1):
                yield pytest.param(group, index, value, id=f"g{group}-{index}={value}")
    # Constraints between fields.
    yield pytest.param(0, 2, 10_000, id="utilization-offset==divisor")
    yield pytest.param(0, 12, 5, id="audit-offset==divisor")
    yield pytest.param(0, 17, 96, id="clamp_min>clamp_max")
    yield pytest.param(1, 0, cs_prime_minus(1), id="felt-minus-one")
    yield pytest.param(3, 0, 2**128, id="huge-apy")


def cs_prime_minus(x):
    return 2**251 + 17 * 2**192 + 1 - x


@pytest.mark.parametrize("group,index,value", list(out_of_range_cases()))
def test_out_of_range_input_fails_the_cairo_run(group, index, value):
    inputs = [list(part) for part in BASE]
    inputs[group][index] = value
    with pytest.raises((ValidationError, ValueError)):  # risk.py rejects it too
        models(*inputs)
    with pytest.raises(cs.CairoStatementError, match="out of range"):
        cs.run_decision(*inputs)


def test_boundary_values_are_accepted():
    lows = [low for low, _ in PARAM_BOUNDS]
    highs = [high for _, high in PARAM_BOUNDS]
    highs[2] = highs[5] = highs[12] = highs[16] = 999_999  # offset < divisor = 1_000_000
    for params in (lows, highs):
        for metric in ([0, 0, 0, 0, 0], [10_000, 10_000, 3, 100, 36_500]):
            for apys, policy in (((1, 1), [0, 0, 0, 0]), ((1_000_000, 1_000_000), [10_000, 2, 10_000, 3])):
                run = cs.run_decision(params, metric, metric, apys, policy)
                assert_matches_reference(run, params, metric, metric, apys, policy)


def test_wrong_shapes_are_rejected_before_running():
    with pytest.raises(ValueError):
        cs.run_decision(V1[:-1], SEPOLIA, SEPOLIA, (850, 1210), POLICY)
    with pytest.raises(TypeError):
        cs.run_decision(V1, SEPOLIA, SEPOLIA, (850.0, 1210), POLICY)


# ---------------------------------------------------------------------------------------------
# Facts, PIE, program hashes
# ---------------------------------------------------------------------------------------------


def test_facts_are_deterministic():
    a = cs.run_decision(V2, SEPOLIA, SEPOLIA, (850, 1210), POLICY)
    b = cs.run_decision(V2, SEPOLIA, SEPOLIA, (850, 1210), POLICY)
    assert (a.output, a.program_hash, a.integrity_fact_hash, a.sharp_fact_hash, a.n_steps) == (
        b.output,
        b.program_hash,
        b.integrity_fact_hash,
        b.sharp_fact_hash,
        b.n_steps,
    )


def test_facts_change_when_any_output_changes():
    from proofs import facts

    run = cs.run_decision(V2, SEPOLIA, SEPOLIA, (850, 1210), POLICY)
    integrity = {run.integrity_fact_hash}
    sharp = {run.sharp_fact_hash}
    for i in range(len(run.output)):
        changed = list(run.output)
        changed[i] += 1
        integrity.add(facts.bootloaded_fact(run.program_hash, changed))
        sharp.add(facts.sharp_fact(run.program_hash, changed))
    assert len(integrity) == len(sharp) == len(run.output) + 1
    # A different decision gives different facts under the same program.
    other = cs.run_decision(V2, SEPOLIA, SEPOLIA, (851, 1210), POLICY)
    assert other.output[-5:] != run.output[-5:]
    assert other.integrity_fact_hash != run.integrity_fact_hash
    assert other.sharp_fact_hash != run.sharp_fact_hash
    assert other.program_hash == run.program_hash


def test_cairo_pie_is_a_valid_pie_of_this_program_and_reruns_without_input():
    from starkware.cairo.bootloaders.generate_fact import get_cairo_pie_fact_info, get_program_output
    from starkware.cairo.lang.vm.cairo_pie import CairoPie

    run = cs.run_decision(V1, PUBLISHED_JEDISWAP, PUBLISHED_EKUBO, (850, 1210), POLICY)
    names = set(zipfile.ZipFile(BytesIO(run.cairo_pie_bytes)).namelist())
    assert {"metadata.json", "memory.bin", "additional_data.json", "execution_resources.json", "version.json"} <= names
    pie = CairoPie.deserialize(run.cairo_pie_bytes)
    pie.run_validity_checks()
    assert get_program_output(pie) == run.output
    assert pie.execution_resources.n_steps == run.n_steps
    assert int(get_cairo_pie_fact_info(pie).fact, 16) == run.sharp_fact_hash  # default: Pedersen chain
    assert cs.verify_cairo_pie(run.cairo_pie_bytes).outcome == (44, 34, 3533, 6467, 1)


def test_tampered_cairo_pie_is_rejected():
    from starkware.cairo.lang.vm.cairo_pie import CairoPie
    from starkware.cairo.lang.vm.relocatable import RelocatableValue

    run = cs.run_decision(V2, SEPOLIA, SEPOLIA, (850, 1210), POLICY)
    pie = CairoPie.deserialize(run.cairo_pie_bytes)
    output = pie.metadata.builtin_segments["output"]
    pie.memory.data[RelocatableValue(output.index, 38)] = 4127  # jediswap_pct 4126 -> 4127
    with pytest.raises(cs.CairoStatementError):
        cs.verify_cairo_pie(pie.serialize())


def test_proof_mode_run_matches_and_fits_integrity_public_input_checks():
    run = cs.run_decision(V2, SEPOLIA, SEPOLIA, (850, 1210), POLICY)
    proof = cs.run_decision_proof_mode(V2, SEPOLIA, SEPOLIA, (850, 1210), POLICY)
    program = cs.compile_program()
    assert proof.output == run.output
    # The public program segment is program.data, which Integrity hashes with Poseidon.
    assert proof.program_segment == list(program.data)
    assert proof.program_hash != run.program_hash  # the direct route names the program otherwise
    # Integrity's Cairo 0 checks on that segment: ap += N_BUILTINS (all of the layout's); call; jmp rel 0.
    data = program.data
    assert data[0] == 0x40780017FFF7FFF and data[1] == len(cs.LAYOUT_BUILTINS)
    assert data[2] == 0x1104800180018000 and data[4] == 0x10780017FFF7FFF and data[5] == 0
    assert tuple(program.builtins) == cs.LAYOUT_BUILTINS
    assert proof.n_steps & (proof.n_steps - 1) == 0  # padded to a power of two


def test_compile_is_cached_per_process():
    assert cs.compile_program() is cs.compile_program()


def test_decode_output_rejects_wrong_length():
    with pytest.raises(ValueError):
        cs.decode_output([0] * 40)


# ---------------------------------------------------------------------------------------------
# cairo-lang 0.14.0.1 on Python 3.11: instances.py's mutable dataclass default
# ---------------------------------------------------------------------------------------------


def _python(code):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    return subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, env=env, timeout=120
    )


def test_plain_import_of_instances_crashes_on_this_python():
    """Documents the bug the workaround exists for (skips once cairo-lang or Python no longer has it)."""
    result = _python("import starkware.cairo.lang.instances")
    if result.returncode == 0:
        pytest.skip("starkware.cairo.lang.instances imports cleanly here: the workaround is a no-op")
    assert "ValueError: mutable default" in result.stderr
    assert "cpu_instance_def" in result.stderr


def test_workaround_loads_instances_and_the_runner_in_a_fresh_interpreter():
    result = _python(
        "import sys\n"
        "from proofs import cairo_statement as cs\n"
        "m = cs.load_instances_module()\n"
        "assert sys.modules['starkware.cairo.lang.instances'] is m\n"
        "import starkware.cairo.lang.instances as again\n"
        "assert again is m\n"
        "assert m.LAYOUTS['recursive_with_poseidon'].cpu_instance_def == m.CpuInstanceDef()\n"
        "assert m.CairoLayout().cpu_instance_def.safe_call is True\n"
        "from starkware.cairo.lang.vm.cairo_runner import CairoRunner\n"
        "print(sorted(m.LAYOUTS))\n"
    )
    assert result.returncode == 0, result.stderr
    assert "recursive_with_poseidon" in result.stdout


def test_patch_rewrites_only_the_mutable_defaults():
    source = (
        "a: int = field(default=1)\n"
        "cpu_instance_def: CpuInstanceDef = field(default=CpuInstanceDef())\n"
        "b: Dict = field(default_factory=lambda: {})\n"
    )
    assert cs.patch_instances_source(source) == (
        "a: int = field(default=1)\n"
        "cpu_instance_def: CpuInstanceDef = field(default_factory=CpuInstanceDef)\n"
        "b: Dict = field(default_factory=lambda: {})\n"
    )
    with pytest.raises(RuntimeError):
        cs.patch_instances_source("nothing to patch")
