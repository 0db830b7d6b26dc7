//! PyO3 bindings: the `proofs._stark` extension module.

use pyo3::create_exception;
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyInt, PyTuple};

use crate::model::{
    hash_to_limbs, HASH_BITS, HASH_LIMBS, NUM_INPUTS, PI_PARAMS, PUBLIC_INPUT_LEN,
    PUBLIC_INPUT_NAMES,
};
use crate::Error;

create_exception!(
    proofs._stark,
    VerificationError,
    PyValueError,
    "A proof or its public inputs were rejected by the verifier."
);

/// The one place where Rust errors become Python exceptions: bad prover inputs are
/// `ValueError`, anything the verifier rejects is `VerificationError` (a `ValueError`), an
/// internal prover failure is `RuntimeError`.
fn to_py_err(e: Error) -> PyErr {
    let msg = e.to_string();
    match e {
        Error::Input { .. } => PyValueError::new_err(msg),
        Error::Prover(_) => PyRuntimeError::new_err(msg),
        Error::PublicInput(_)
        | Error::Deserialization(_)
        | Error::InsufficientSecurity(_)
        | Error::Verification(_) => VerificationError::new_err(msg),
    }
}

/// `Some(value)` if `obj` is an int (not a bool) fitting in u64; `None` if it is an int out of
/// range; `Err(TypeError)` otherwise.
fn int_u64(obj: &Bound<'_, PyAny>, label: &str) -> PyResult<Option<u64>> {
    if obj.is_instance_of::<PyBool>() || !obj.is_instance_of::<PyInt>() {
        return Err(PyTypeError::new_err(format!(
            "{label} must be an int, got {}",
            obj.get_type().name()?
        )));
    }
    Ok(obj.extract::<u64>().ok())
}

/// Parses `[model_hash, *35 values]`.
fn parse_inputs(inputs: &[Bound<'_, PyAny>]) -> PyResult<([u64; HASH_LIMBS], [u64; NUM_INPUTS])> {
    if inputs.len() != NUM_INPUTS + 1 {
        return Err(PyValueError::new_err(format!(
            "expected {} inputs ([model_hash, *{NUM_INPUTS} values]), got {}",
            NUM_INPUTS + 1,
            inputs.len()
        )));
    }
    let hash = &inputs[0];
    int_u64(hash, "input 0 (model hash)")?;
    let hash_err = || {
        PyValueError::new_err(format!(
            "input 0 (model hash) out of range: must be a non-negative integer below 2^{HASH_BITS}"
        ))
    };
    if hash.lt(0)? || hash.call_method0("bit_length")?.extract::<u32>()? > HASH_BITS {
        return Err(hash_err());
    }
    let bytes: Vec<u8> = hash.call_method1("to_bytes", (32, "little"))?.extract()?;
    let limbs = hash_to_limbs(&bytes.try_into().map_err(|_| hash_err())?).ok_or_else(hash_err)?;

    let mut values = [0u64; NUM_INPUTS];
    for (i, (obj, v)) in inputs[1..].iter().zip(values.iter_mut()).enumerate() {
        let label = format!("input {} ({})", i + 1, PUBLIC_INPUT_NAMES[PI_PARAMS + i]);
        *v = int_u64(obj, &label)?
            .ok_or_else(|| PyValueError::new_err(format!("{label} out of range: {}", obj)))?;
    }
    Ok((limbs, values))
}

/// Parses a public input vector; out-of-range ints are a verification failure.
fn parse_public(values: &[Bound<'_, PyAny>]) -> PyResult<Vec<u64>> {
    if values.len() != PUBLIC_INPUT_LEN {
        return Err(to_py_err(Error::PublicInput(format!(
            "expected {PUBLIC_INPUT_LEN} public inputs, got {}",
            values.len()
        ))));
    }
    values
        .iter()
        .enumerate()
        .map(|(i, obj)| {
            let label = format!("public input {i} ({})", PUBLIC_INPUT_NAMES[i]);
            int_u64(obj, &label)?.ok_or_else(|| {
                to_py_err(Error::PublicInput(format!("{label} out of range: {obj}")))
            })
        })
        .collect()
}

/// prove(inputs: list[int]) -> tuple[bytes, list[int]]
///
/// inputs = [model_hash, *params(19), *jediswap(5), *ekubo(5), apy_jediswap, apy_ekubo,
/// *policy(4)]. Returns (proof bytes, the 44-value public input vector).
#[pyfunction]
#[pyo3(name = "prove")]
fn py_prove<'py>(
    py: Python<'py>,
    inputs: Vec<Bound<'py, PyAny>>,
) -> PyResult<(Bound<'py, PyBytes>, Vec<u64>)> {
    let (limbs, values) = parse_inputs(&inputs)?;
    let (proof, pi) = py
        .detach(|| crate::prove(&limbs, &values))
        .map_err(to_py_err)?;
    Ok((PyBytes::new(py, &proof), pi.to_vec()))
}

/// verify(proof: bytes, public_inputs: list[int]) -> None
///
/// Raises VerificationError if the public inputs are out of bounds or the proof is malformed,
/// too weak, or does not verify.
#[pyfunction]
#[pyo3(name = "verify")]
fn py_verify(py: Python<'_>, proof: &[u8], public_inputs: Vec<Bound<'_, PyAny>>) -> PyResult<()> {
    let pi = parse_public(&public_inputs)?;
    let proof = proof.to_vec();
    py.detach(|| crate::verify(&proof, &pi)).map_err(to_py_err)
}

/// evaluate(inputs: list[int]) -> list[int]: the 44-value public input vector, no proof.
#[pyfunction]
#[pyo3(name = "evaluate")]
fn py_evaluate(inputs: Vec<Bound<'_, PyAny>>) -> PyResult<Vec<u64>> {
    let (limbs, values) = parse_inputs(&inputs)?;
    Ok(crate::evaluate_public(&limbs, &values)
        .map_err(to_py_err)?
        .to_vec())
}

/// security_bits(proof: bytes) -> int: conjectured security of the options a proof was made with.
#[pyfunction]
#[pyo3(name = "security_bits")]
fn py_security_bits(proof: &[u8]) -> PyResult<u32> {
    crate::security_bits(proof).map_err(to_py_err)
}

#[pymodule]
fn _stark(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_function(wrap_pyfunction!(py_prove, m)?)?;
    m.add_function(wrap_pyfunction!(py_verify, m)?)?;
    m.add_function(wrap_pyfunction!(py_evaluate, m)?)?;
    m.add_function(wrap_pyfunction!(py_security_bits, m)?)?;
    m.add("VerificationError", py.get_type::<VerificationError>())?;

    m.add("PUBLIC_INPUT_LEN", PUBLIC_INPUT_LEN)?;
    m.add("PUBLIC_INPUT_NAMES", PyTuple::new(py, PUBLIC_INPUT_NAMES)?)?;
    m.add("SECURITY_BITS", crate::default_security_bits())?;
    m.add("MIN_SECURITY_BITS", crate::MIN_SECURITY_BITS)?;
    m.add("PROVER_NAME", crate::PROVER_NAME)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;

    let opts = PyDict::new(py);
    opts.set_item("num_queries", crate::NUM_QUERIES)?;
    opts.set_item("blowup_factor", crate::BLOWUP_FACTOR)?;
    opts.set_item("grinding_factor", crate::GRINDING_FACTOR)?;
    opts.set_item("field_extension", "quadratic")?;
    opts.set_item("fri_folding_factor", crate::FRI_FOLDING_FACTOR)?;
    opts.set_item("fri_remainder_max_degree", crate::FRI_REMAINDER_MAX_DEGREE)?;
    opts.set_item("hash_function", crate::HASH_FUNCTION)?;
    opts.set_item("trace_length", crate::air::TRACE_LENGTH)?;
    opts.set_item("trace_width", crate::air::TRACE_WIDTH)?;
    m.add("PROOF_OPTIONS", opts)?;
    Ok(())
}
