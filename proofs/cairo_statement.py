"""The Cairo 0 statement of a risk decision: compile, run in-process, build the PIE and the facts.

``proofs/cairo/risk_decision.cairo`` computes ``allocations.risk.decide`` and
``allocations.risk.model_hash`` and writes the model hash, every input and every result to its
output segment (41 felts, layout in ``OUTPUT_*`` below). A fact over (program hash, output) therefore
binds the model, the inputs and the decision.

Pure Python, no Django: a standalone verifier imports this module. It needs ``cairo-lang``
(0.14.0.1) and proofs.facts, nothing else of the project.

Two ways the same program is proven; proofs.facts computes the facts of both:

* Through the SHARP bootloader, from the Cairo PIE (what Atlantic's ``pieFile`` queries take and
  what it registers in Integrity). The bootloader names the task by cairo-lang's Pedersen
  ``compute_program_hash_chain`` (``CairoRun.program_hash``, the value Atlantic reports as
  ``programHash``); ``CairoRun.integrity_fact_hash`` is ``facts.bootloaded_fact`` and
  ``CairoRun.sharp_fact_hash`` SHARP's L1 fact over the same program hash.
* Directly, in proof mode (a local Stone proof). Integrity's Cairo 0 verifier hashes the program
  segment of the public memory, ``program.data`` of the proof-mode compilation, with Poseidon
  (``ProofModeRun.program_hash``, ``ProofModeRun.integrity_fact_hash``: ``facts.direct_fact``).
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import re
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from starknet_py.hash.hash_method import HashMethod

from . import facts

SOURCE_PATH = Path(__file__).resolve().parent / "cairo" / "risk_decision.cairo"

# The smallest layout that has the Poseidon builtin and that both Atlantic (its ``layout`` form
# field) and Integrity (a deployed verifier per layout) accept. The program declares exactly this
# layout's builtins, in its order, because Integrity's Cairo 0 public-input check requires main to
# take every builtin of the layout.
LAYOUT = "recursive_with_poseidon"
LAYOUT_BUILTINS = ("output", "pedersen", "range_check", "bitwise", "poseidon")

PARAM_COUNT = 19
METRIC_COUNT = 5
POLICY_COUNT = 4
RESULT_COUNT = 5
# Output segment: model_hash, params, jediswap, ekubo, apys, policy, results.
OUTPUT_MODEL_HASH = 0
OUTPUT_PARAMS = slice(1, 20)
OUTPUT_JEDISWAP = slice(20, 25)
OUTPUT_EKUBO = slice(25, 30)
OUTPUT_APYS = slice(30, 32)
OUTPUT_POLICY = slice(32, 36)
OUTPUT_RESULTS = slice(36, 41)
OUTPUT_SIZE = 41


class CairoStatementError(Exception):
    """The Cairo run failed: an input is out of bounds or the program did not finish."""


# --------------------------------------------------------------------------------------------
# cairo-lang 0.14.0.1 on Python 3.11: starkware/cairo/lang/instances.py declares
#     cpu_instance_def: CpuInstanceDef = field(default=CpuInstanceDef())
# and Python >= 3.11 rejects an unhashable dataclass instance as a field default
# ("ValueError: mutable default <class '...CpuInstanceDef'> for field cpu_instance_def is not
# allowed: use default_factory"), so importing the runner fails. We import the module normally
# and, only if that exact error occurs, load it from its own source with such defaults rewritten
# to default_factory, under its real name and file. Nothing on disk is changed, and a cairo-lang
# that fixes the line is imported untouched.
# --------------------------------------------------------------------------------------------

INSTANCES_MODULE = "starkware.cairo.lang.instances"
_MUTABLE_DEFAULT = re.compile(r"field\(\s*default\s*=\s*([A-Za-z_][A-Za-z0-9_]*)\(\)\s*\)")
_import_lock = threading.Lock()


def patch_instances_source(source: str) -> str:
    """Rewrites ``field(default=Cls())`` into ``field(default_factory=Cls)``."""
    patched, count = _MUTABLE_DEFAULT.subn(r"field(default_factory=\1)", source)
    if count == 0:
        raise RuntimeError(f"{INSTANCES_MODULE}: no field(default=Cls()) to patch")
    return patched


def load_instances_module():
    """Imports starkware.cairo.lang.instances, working around its Python 3.11 dataclass crash."""
    with _import_lock:
        if INSTANCES_MODULE in sys.modules:
            return sys.modules[INSTANCES_MODULE]
        try:
            return importlib.import_module(INSTANCES_MODULE)
        except ValueError as exc:
            if "mutable default" not in str(exc):
                raise
            # A failed import leaves no entry in sys.modules; load it again from patched source.
        spec = importlib.util.find_spec(INSTANCES_MODULE)
        if spec is None or spec.loader is None or spec.origin is None:
            raise ImportError(f"cannot find {INSTANCES_MODULE}")
        source = spec.loader.get_source(INSTANCES_MODULE)
        code = compile(patch_instances_source(source), spec.origin, "exec")
        module = importlib.util.module_from_spec(spec)
        sys.modules[INSTANCES_MODULE] = module
        try:
            exec(code, module.__dict__)  # noqa: S102 - cairo-lang's own source, patched above
        except BaseException:
            sys.modules.pop(INSTANCES_MODULE, None)
            raise
        parent_name, _, child = INSTANCES_MODULE.rpartition(".")
        setattr(importlib.import_module(parent_name), child, module)
        return module


# --------------------------------------------------------------------------------------------
# Compilation, cached in memory per process (artifacts never touch the repository).
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CompiledStatement:
    program: Any  # starkware.cairo.lang.compiler.program.Program
    # compute_program_hash_chain(program, PEDERSEN): how the SHARP bootloader, Atlantic and SHARP name it.
    program_hash: int


_compiled: CompiledStatement | None = None
_compile_lock = threading.Lock()


def _compile() -> CompiledStatement:
    from starkware.cairo.bootloaders.hash_program import HashFunction, compute_program_hash_chain
    from starkware.cairo.lang.cairo_constants import DEFAULT_PRIME
    from starkware.cairo.lang.compiler.cairo_compile import compile_cairo, get_codes

    # compile_cairo_files has no proof-mode switch; add_start=True is what
    # `cairo-compile --proof_mode` does (prepends __start__: call main; __end__: jmp rel 0).
    program = compile_cairo(code=get_codes([str(SOURCE_PATH)]), prime=DEFAULT_PRIME, debug_info=True, add_start=True)
    if tuple(program.builtins) != LAYOUT_BUILTINS:
        raise RuntimeError(f"program builtins {program.builtins} are not {LAYOUT_BUILTINS}")
    return CompiledStatement(program=program, program_hash=compute_program_hash_chain(program, HashFunction.PEDERSEN))


def compiled_statement() -> CompiledStatement:
    global _compiled
    with _compile_lock:
        if _compiled is None:
            _compiled = _compile()
        return _compiled


def compile_program():
    """The proof-mode compiled program (a cairo-lang ``Program``), compiled once per process."""
    return compiled_statement().program


# --------------------------------------------------------------------------------------------
# Inputs and outputs.
# --------------------------------------------------------------------------------------------


def _elements(value: Any, count: int, name: str) -> list[int]:
    """Accepts a sequence of ints or an allocations.risk model with to_elements()."""
    if hasattr(value, "to_elements"):
        value = value.to_elements()
    elif hasattr(value, "jediswap") and hasattr(value, "ekubo"):  # allocations.risk.Apys
        value = (value.jediswap, value.ekubo)
    values = list(value)
    if len(values) != count:
        raise ValueError(f"{name}: expected {count} values, got {len(values)}")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"{name}: expected ints, got {v!r}")
    return values


@dataclasses.dataclass(frozen=True)
class DecisionInputs:
    params: tuple[int, ...]
    jediswap: tuple[int, ...]
    ekubo: tuple[int, ...]
    apys: tuple[int, int]
    policy: tuple[int, ...]

    @classmethod
    def of(cls, params, jediswap, ekubo, apys, policy) -> DecisionInputs:
        return cls(
            params=tuple(_elements(params, PARAM_COUNT, "params")),
            jediswap=tuple(_elements(jediswap, METRIC_COUNT, "jediswap")),
            ekubo=tuple(_elements(ekubo, METRIC_COUNT, "ekubo")),
            apys=tuple(_elements(apys, 2, "apys")),
            policy=tuple(_elements(policy, POLICY_COUNT, "policy")),
        )

    def program_input(self) -> dict:
        """The cairo-run --program_input JSON object the program's hint reads."""
        return {
            "params": list(self.params),
            "jediswap": list(self.jediswap),
            "ekubo": list(self.ekubo),
            "apys": list(self.apys),
            "policy": list(self.policy),
        }


@dataclasses.dataclass(frozen=True)
class DecisionOutput:
    """The output segment, decoded."""

    model_hash: int
    params: tuple[int, ...]
    jediswap: tuple[int, ...]
    ekubo: tuple[int, ...]
    apys: tuple[int, int]
    policy: tuple[int, ...]
    jediswap_score: int
    ekubo_score: int
    jediswap_pct: int
    ekubo_pct: int
    violations: int

    @property
    def inputs(self) -> DecisionInputs:
        return DecisionInputs(self.params, self.jediswap, self.ekubo, self.apys, self.policy)

    @property
    def outcome(self) -> tuple[int, int, int, int, int]:
        """In allocations.risk.Outcome field order."""
        return (
            self.jediswap_score,
            self.ekubo_score,
            self.jediswap_pct,
            self.ekubo_pct,
            self.violations,
        )

    @property
    def passed(self) -> bool:
        return self.violations == 0


def decode_output(output: Sequence[int]) -> DecisionOutput:
    """Maps the program output back to its structure."""
    output = list(output)
    if len(output) != OUTPUT_SIZE:
        raise ValueError(f"expected {OUTPUT_SIZE} output felts, got {len(output)}")
    return DecisionOutput(
        model_hash=output[OUTPUT_MODEL_HASH],
        params=tuple(output[OUTPUT_PARAMS]),
        jediswap=tuple(output[OUTPUT_JEDISWAP]),
        ekubo=tuple(output[OUTPUT_EKUBO]),
        apys=tuple(output[OUTPUT_APYS]),
        policy=tuple(output[OUTPUT_POLICY]),
        jediswap_score=output[OUTPUT_RESULTS][0],
        ekubo_score=output[OUTPUT_RESULTS][1],
        jediswap_pct=output[OUTPUT_RESULTS][2],
        ekubo_pct=output[OUTPUT_RESULTS][3],
        violations=output[OUTPUT_RESULTS][4],
    )


# --------------------------------------------------------------------------------------------
# Running.
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CairoRun:
    output: list[int]
    cairo_pie_bytes: bytes
    program_hash: int  # Pedersen compute_program_hash_chain: the bootloaded task's name
    n_steps: int
    layout: str = LAYOUT

    @property
    def decision(self) -> DecisionOutput:
        return decode_output(self.output)

    @property
    def integrity_fact_hash(self) -> int:
        """The fact Atlantic registers in Integrity for this PIE."""
        return facts.bootloaded_fact(self.program_hash, self.output)

    @property
    def sharp_fact_hash(self) -> int:
        return facts.sharp_fact(self.program_hash, self.output)


def _runner(program, proof_mode: bool):
    load_instances_module()
    from starkware.cairo.lang.instances import LAYOUTS
    from starkware.cairo.lang.vm.cairo_runner import CairoRunner

    runner = CairoRunner(program=program, layout=LAYOUTS[LAYOUT], proof_mode=proof_mode)
    runner.initialize_segments()
    end = runner.initialize_main_entrypoint()
    return runner, end


def _execute(runner, end, inputs: DecisionInputs, proof_mode: bool) -> None:
    from starkware.cairo.lang.vm.vm_exceptions import VmException, VmExceptionBase

    runner.initialize_vm(hint_locals={"program_input": inputs.program_input()})
    try:
        runner.run_until_pc(end)
        if proof_mode:
            # As cairo-run: the last executed pc must be __end__.
            runner.run_for_steps(1)
        runner.original_steps = runner.vm.current_step
        # In proof mode the trace is padded to a power of 2 that fits every builtin, as cairo-run.
        runner.end_run(disable_trace_padding=not proof_mode)
    except (VmException, VmExceptionBase, AssertionError) as exc:
        raise CairoStatementError(f"Cairo run failed: {exc}") from exc
    runner.read_return_values()
    if proof_mode:
        runner.finalize_segments()


def _output(runner) -> list[int]:
    output_runner = runner.builtin_runners["output_builtin"]
    _, size = output_runner.get_used_cells_and_allocated_size(runner)
    return [runner.vm_memory[output_runner.base + i] for i in range(size)]


def run_decision(params, jediswap, ekubo, apys, policy) -> CairoRun:
    """Runs the statement in-process (not in proof mode) and returns its output, Cairo PIE and facts.

    Accepts lists of ints (or allocations.risk models). Raises CairoStatementError when the
    program rejects the input (an out-of-bounds value fails a range-check assertion).
    """
    inputs = DecisionInputs.of(params, jediswap, ekubo, apys, policy)
    compiled = compiled_statement()
    runner, end = _runner(compiled.program, proof_mode=False)
    _execute(runner, end, inputs, proof_mode=False)
    output = _output(runner)
    cairo_pie = runner.get_cairo_pie()
    return CairoRun(
        output=output,
        cairo_pie_bytes=cairo_pie.serialize(),
        program_hash=compiled.program_hash,
        n_steps=cairo_pie.execution_resources.n_steps,
    )


@dataclasses.dataclass(frozen=True)
class ProofModeRun:
    output: list[int]
    n_steps: int
    program_segment: list[int]  # relocated program segment of the public memory
    runner: Any

    @property
    def program_hash(self) -> int:
        """What Integrity's Cairo 0 verifier names the program by: Poseidon over the program segment."""
        return HashMethod.POSEIDON.hash_many(self.program_segment)

    @property
    def integrity_fact_hash(self) -> int:
        """The fact a direct (Stone) proof of this run is registered under."""
        return facts.direct_fact(self.program_hash, self.output)


def run_decision_proof_mode(params, jediswap, ekubo, apys, policy) -> ProofModeRun:
    """Runs the statement in proof mode (what a direct Stone/Integrity proof is of).

    Returns the runner (relocated) too, so a caller can write the AIR public/private inputs,
    trace and memory for a prover.
    """
    inputs = DecisionInputs.of(params, jediswap, ekubo, apys, policy)
    program = compile_program()
    runner, end = _runner(program, proof_mode=True)
    _execute(runner, end, inputs, proof_mode=True)
    output = _output(runner)
    runner.relocate()
    start = runner.relocate_value(runner.program_base)
    segment = [runner.relocated_memory[start + i] for i in range(len(program.data))]
    return ProofModeRun(output=output, n_steps=runner.vm.current_step, program_segment=segment, runner=runner)


def verify_cairo_pie(cairo_pie_bytes: bytes) -> DecisionOutput:
    """Re-executes a Cairo PIE of this statement as a bootloader would, and returns its output.

    Checks that the PIE is of this program (same stripped program), re-runs the stripped program
    over the PIE's memory with no program input and no hints (as cairo-run --run_from_cairo_pie
    with --secure_run does), and that the re-run reproduces the PIE. Raises CairoStatementError.
    """
    load_instances_module()
    from starkware.cairo.bootloaders.generate_fact import get_program_output
    from starkware.cairo.lang.instances import LAYOUTS
    from starkware.cairo.lang.vm.cairo_pie import CairoPie
    from starkware.cairo.lang.vm.cairo_runner import CairoRunner
    from starkware.cairo.lang.vm.security import verify_secure_runner
    from starkware.cairo.lang.vm.utils import RunResources
    from starkware.cairo.lang.vm.vm_exceptions import VmException, VmExceptionBase

    try:
        cairo_pie = CairoPie.deserialize(cairo_pie_bytes)
        cairo_pie.run_validity_checks()
    except Exception as exc:
        raise CairoStatementError(f"invalid Cairo PIE: {exc}") from exc
    program = compile_program().stripped()
    pie_program = cairo_pie.program
    if (pie_program.data, pie_program.builtins, pie_program.main) != (
        program.data,
        program.builtins,
        program.main,
    ):
        raise CairoStatementError("the Cairo PIE is not of this statement's program")

    n_steps = cairo_pie.execution_resources.n_steps
    runner = CairoRunner(program=pie_program, layout=LAYOUTS[LAYOUT], memory=cairo_pie.memory, proof_mode=False)
    try:
        runner.initialize_segments()
        end = runner.initialize_main_entrypoint()
        runner.initialize_zero_segment()
        for segment_info in cairo_pie.metadata.extra_segments:
            zero_segment = runner.segments.zero_segment
            if zero_segment is not None and segment_info.index == zero_segment.segment_index:
                continue
            runner.segments.add(size=segment_info.size)
        for name, builtin_runner in runner.builtin_runners.items():
            if name in cairo_pie.additional_data:
                builtin_runner.extend_additional_data(
                    data=cairo_pie.additional_data[name],
                    relocate_callback=lambda x: x,
                    data_is_trusted=False,
                )
        runner.finalize_segments_by_cairo_pie(cairo_pie=cairo_pie)
        runner.initialize_vm(hint_locals={"program_input": {}})
        runner.run_until_pc(end, run_resources=RunResources(n_steps=n_steps))
        runner.original_steps = runner.vm.current_step
        runner.run_until_steps(n_steps)
        runner.end_run(disable_trace_padding=True)
        runner.read_return_values()
        verify_secure_runner(runner)
        rerun = runner.get_cairo_pie()
        rerun.execution_resources.n_memory_holes = cairo_pie.execution_resources.n_memory_holes
        rerun.version = cairo_pie.version
        if not cairo_pie.is_compatible_with(rerun):
            raise CairoStatementError("re-running the Cairo PIE does not reproduce it")
        return decode_output(get_program_output(cairo_pie))
    except (VmException, VmExceptionBase, AssertionError, ValueError) as exc:
        raise CairoStatementError(f"re-running the Cairo PIE failed: {exc}") from exc
