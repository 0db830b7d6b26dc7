//! PyO3 bindings: the `proofs._stark` extension module.

use pyo3::create_exception;
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyInt, PyTuple};

use crate::model::{
    hash_to_limbs, HASH_BITS, HASH_LIMBS, NUM_INPUTS, PI_PARAMS, PUBLIC_INPUT_LEN,
    PUBLIC_INPUT_NAMES,
};
use crate::options::{self, Security};
use crate::{bundle, cairo_pie, proof_file, Error};

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
        | Error::ModelHash(_)
        | Error::Deserialization(_)
        | Error::Options(_)
        | Error::RemainderBinding
        | Error::Verification(_)
        | Error::ProofFile(_)
        | Error::Bundle { .. } => VerificationError::new_err(msg),
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
    py.detach(|| crate::verify(&proof, &pi))
        .map(|_| ())
        .map_err(to_py_err)
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

fn security_dict<'py>(py: Python<'py>, security: Security) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("conjectured_bits", security.conjectured_bits)?;
    d.set_item("proven_bits", security.proven_bits)?;
    Ok(d)
}

/// security(proof: bytes) -> {"conjectured_bits": int, "proven_bits": int}
#[pyfunction]
#[pyo3(name = "security")]
fn py_security<'py>(py: Python<'py>, proof: &[u8]) -> PyResult<Bound<'py, PyDict>> {
    security_dict(py, crate::security(proof).map_err(to_py_err)?)
}

/// encode_proof_file(public_inputs: list[int], proof: bytes) -> bytes: the canonical file.
#[pyfunction]
#[pyo3(name = "encode_proof_file")]
fn py_encode_proof_file<'py>(
    py: Python<'py>,
    public_inputs: Vec<Bound<'py, PyAny>>,
    proof: &[u8],
) -> PyResult<Bound<'py, PyBytes>> {
    let pi = crate::check_public_vector(&parse_public(&public_inputs)?).map_err(to_py_err)?;
    let file = proof_file::encode(&pi, proof).map_err(to_py_err)?;
    Ok(PyBytes::new(py, &file))
}

fn verified_file_dict<'py>(
    py: Python<'py>,
    verified: &proof_file::VerifiedFile,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("prover", &verified.prover)?;
    d.set_item("security", security_dict(py, verified.security)?)?;
    d.set_item(
        "statement",
        serde_json::to_string(&verified.statement).expect("a statement always serializes"),
    )?;
    d.set_item("public_inputs", verified.public_inputs.to_vec())?;
    d.set_item("proof_hash", &verified.proof_hash)?;
    Ok(d)
}

/// verify_proof_file(data: bytes) -> dict with prover, security, statement (JSON text),
/// public_inputs and proof_hash. Raises VerificationError with the reason otherwise.
#[pyfunction]
#[pyo3(name = "verify_proof_file")]
fn py_verify_proof_file<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyDict>> {
    let data = data.to_vec();
    let verified = py
        .detach(|| proof_file::verify_file(&data))
        .map_err(to_py_err)?;
    verified_file_dict(py, &verified)
}

/// verify_bundle(data: bytes) -> dict: what verify_proof_file returns for its proof, plus
/// bundle_hash and manifest (JSON text). Raises VerificationError("<part>: <reason>").
#[pyfunction]
#[pyo3(name = "verify_bundle")]
fn py_verify_bundle<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyDict>> {
    let data = data.to_vec();
    let verified = match py.detach(|| bundle::verify_bundle(&data)) {
        Ok(verified) => verified,
        Err(e) => {
            let part = match &e {
                Error::Bundle { part, .. } => part.clone(),
                _ => String::new(),
            };
            let err = to_py_err(e);
            // the exception's `part` names the file or manifest section that failed
            err.value(py).setattr("part", part)?;
            return Err(err);
        }
    };
    let d = verified_file_dict(py, &verified.proof)?;
    d.set_item("bundle_hash", &verified.bundle_hash)?;
    d.set_item(
        "manifest",
        serde_json::to_string(&verified.manifest).expect("a manifest always serializes"),
    )?;
    Ok(d)
}

/// read_cairo_pie(data: bytes) -> {"program_hash": int, "output": list[int], "steps": int}:
/// what the bundle verifier reads from a Cairo PIE. Raises VerificationError if it is malformed.
#[pyfunction]
#[pyo3(name = "read_cairo_pie")]
fn py_read_cairo_pie<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyDict>> {
    let pie = cairo_pie::read(data).map_err(|reason| {
        to_py_err(Error::Bundle { part: bundle::CAIRO_PIE.into(), reason })
    })?;
    let int = |felt: &starknet_crypto::Felt| -> PyResult<Bound<'py, PyAny>> {
        py.get_type::<PyInt>()
            .call1((felt.to_fixed_hex_string(), 16))
    };
    let d = PyDict::new(py);
    d.set_item("program_hash", int(&pie.program_hash)?)?;
    d.set_item("output", pie.output.iter().map(int).collect::<PyResult<Vec<_>>>()?)?;
    d.set_item("steps", pie.steps)?;
    Ok(d)
}

/// report(data: bytes, as_json: bool = False) -> tuple[bool, str]: the verdict as the
/// `obsqra-verify` command prints it.
#[pyfunction]
#[pyo3(name = "report", signature = (data, as_json = false))]
fn py_report(py: Python<'_>, data: &[u8], as_json: bool) -> (bool, String) {
    let data = data.to_vec();
    py.detach(|| crate::report::report(&data, as_json))
}

#[pymodule]
fn _stark(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_function(wrap_pyfunction!(py_prove, m)?)?;
    m.add_function(wrap_pyfunction!(py_verify, m)?)?;
    m.add_function(wrap_pyfunction!(py_evaluate, m)?)?;
    m.add_function(wrap_pyfunction!(py_security, m)?)?;
    m.add_function(wrap_pyfunction!(py_encode_proof_file, m)?)?;
    m.add_function(wrap_pyfunction!(py_verify_proof_file, m)?)?;
    m.add_function(wrap_pyfunction!(py_verify_bundle, m)?)?;
    m.add_function(wrap_pyfunction!(py_read_cairo_pie, m)?)?;
    m.add_function(wrap_pyfunction!(py_report, m)?)?;
    m.add("VerificationError", py.get_type::<VerificationError>())?;

    m.add("PUBLIC_INPUT_LEN", PUBLIC_INPUT_LEN)?;
    m.add("PUBLIC_INPUT_NAMES", PyTuple::new(py, PUBLIC_INPUT_NAMES)?)?;
    m.add(
        "POLICY_RULES",
        PyTuple::new(py, crate::model::POLICY_RULES)?,
    )?;
    m.add("SECURITY", security_dict(py, options::default_security())?)?;
    m.add("PROVER_NAME", crate::PROVER_NAME)?;
    m.add(
        "BROKEN_PROVER_NAMES",
        PyTuple::new(py, crate::BROKEN_PROVER_NAMES)?,
    )?;
    m.add("PROOF_FILE_FORMAT_VERSION", proof_file::FORMAT_VERSION)?;
    m.add("PROOF_FILE_MEDIA_TYPE", proof_file::MEDIA_TYPE)?;
    m.add("BUNDLE_FORMAT", bundle::FORMAT)?;
    m.add("BUNDLE_FORMAT_VERSION", bundle::FORMAT_VERSION)?;
    m.add("BUNDLE_MEDIA_TYPE", bundle::MEDIA_TYPE)?;
    m.add("BUNDLE_MAX_BYTES", bundle::MAX_BUNDLE_BYTES)?;
    m.add("ZIP_MAGIC", PyBytes::new(py, bundle::ZIP_MAGIC))?;
    m.add("CAIRO_PROGRAM_HASH", bundle::CAIRO_PROGRAM_HASH)?;
    m.add("CAIRO_LAYOUT", bundle::CAIRO_LAYOUT)?;
    m.add("WINTERFELL_VERSION", crate::WINTERFELL_VERSION)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;

    let opts = PyDict::new(py);
    opts.set_item("num_queries", options::NUM_QUERIES)?;
    opts.set_item("blowup_factor", options::BLOWUP_FACTOR)?;
    opts.set_item("grinding_factor", options::GRINDING_FACTOR)?;
    opts.set_item("field_extension", "cubic")?;
    opts.set_item("fri_folding_factor", options::FRI_FOLDING_FACTOR)?;
    opts.set_item(
        "fri_remainder_max_degree",
        options::FRI_REMAINDER_MAX_DEGREE,
    )?;
    opts.set_item("hash_function", options::HASH_FUNCTION)?;
    opts.set_item("trace_length", crate::air::TRACE_LENGTH)?;
    opts.set_item("trace_width", crate::air::TRACE_WIDTH)?;
    m.add("PROOF_OPTIONS", opts)?;
    Ok(())
}
