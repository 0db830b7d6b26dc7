//! STARK proof (winterfell) that the parameterised risk model turned the public inputs into the
//! public outputs. Exposed to Python as `proofs._stark`.
//!
//! Rust API: [prove], [verify], [evaluate_public], [proof_file], [options].
//!
//! Every verification path (this crate's [verify] and [proof_file::verify_file], the Python
//! module, the CLIs, the API and the pages) goes through [verify], which checks in this order:
//! public-input bounds, model hash = Poseidon(parameters), proof encoding, the exact option set,
//! the FRI remainder commitment, then winterfell's verifier.

use std::panic::{catch_unwind, AssertUnwindSafe};

use winterfell::{
    crypto::ElementHasher,
    math::{
        fields::{f64::BaseElement, CubeExtension, QuadExtension},
        FieldElement, StarkField,
    },
    AcceptableOptions, FieldExtension, Proof, ProofOptions, Prover, TraceTable,
    TransitionConstraintDegree, VerifierError,
};

pub mod air;
pub mod bundle;
pub mod cairo_pie;
pub mod facts;
pub mod model;
pub mod options;
pub mod proof_file;
pub mod prover;
pub mod report;
pub mod statement;
mod zipped;
#[cfg(test)]
mod tests;

#[cfg(feature = "python")]
mod python;

use winter_utils::{ByteReader, Deserializable, DeserializationError, Serializable};

use air::{PublicInputs, RiskAir, TRACE_LENGTH, TRACE_WIDTH};
use model::*;
use options::{describe, proof_options, retired_v1_options, Security};
use prover::{build_trace, Hasher, RandomCoin, RiskProver, VectorCommitment, Witness};

/// Identifies the proof system and AIR version; bump the AIR suffix on any constraint or option
/// change (v2: exact option set, bound FRI remainder, model hash checked by the verifier).
pub const PROVER_NAME: &str = "winterfell-0.13.1/obsqra-risk-air-v2";
/// The winterfell release the prover and verifier are built on (pinned in Cargo.toml).
pub const WINTERFELL_VERSION: &str = "0.13.1";
/// Proofs of this prover were accepted by a verifier that did not bind the FRI remainder.
pub const BROKEN_PROVER_NAMES: [&str; 1] = ["winterfell-0.13.1/obsqra-risk-air-v1"];

// ERRORS
// ================================================================================================

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// An input given to the prover is malformed; `index` is the position in the 36-value
    /// input list (0 = model hash).
    Input { index: usize, message: String },
    /// A public input is out of bounds or the vector has the wrong length.
    PublicInput(String),
    /// The model hash in the statement is not Poseidon(family, parameters).
    ModelHash(String),
    /// The proof bytes could not be parsed.
    Deserialization(String),
    /// The proof was made with another option set than [options::proof_options].
    Options(String),
    /// The proof's FRI remainder is not the one its commitment binds (a forged proof).
    RemainderBinding,
    /// The proof is well-formed but does not prove these public inputs.
    Verification(String),
    /// The proof file is malformed, not canonical, or of another version or prover.
    ProofFile(String),
    /// A part of a decision bundle is wrong or disagrees with the others; `part` names it.
    Bundle { part: String, reason: String },
    /// The prover failed (should not happen for inputs that passed the bound checks).
    Prover(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Input { message, .. } => write!(f, "{message}"),
            Error::PublicInput(m) => write!(f, "the statement is out of bounds: {m}"),
            Error::ModelHash(m) => write!(f, "the model hash does not name these parameters: {m}"),
            Error::Deserialization(m) => write!(f, "the proof is corrupted: {m}"),
            Error::Options(m) => write!(
                f,
                "the proof was made with options this verifier does not accept: {m}"
            ),
            Error::RemainderBinding => write!(
                f,
                "the proof is forged: its FRI remainder polynomial is not the one it committed to \
                 before the query positions were drawn"
            ),
            Error::Verification(m) => write!(f, "{m}"),
            Error::ProofFile(m) => write!(f, "{m}"),
            Error::Bundle { part, reason } => write!(f, "{part}: {reason}"),
            Error::Prover(m) => write!(f, "proving failed: {m}"),
        }
    }
}

impl std::error::Error for Error {}

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_string()
    }
}

/// Lower-case hex of bytes, two digits each (digests in files and reports).
pub(crate) fn hex_digits(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// EVALUATION AND PROVING
// ================================================================================================

/// Validates the 35 inputs and returns the 44-value public input vector (no proof).
pub fn evaluate_public(
    limbs: &[u64; HASH_LIMBS],
    inputs: &[u64; NUM_INPUTS],
) -> Result<[u64; PUBLIC_INPUT_LEN], Error> {
    check_inputs(inputs).map_err(|e| Error::Input {
        index: e.index - PI_PARAMS + 1,
        message: format!(
            "input {} ({}) out of range: {}",
            e.index - PI_PARAMS + 1,
            e.name(),
            e.detail
        ),
    })?;
    if let Some(i) = limbs.iter().position(|&l| l > LIMB_MASK) {
        return Err(Error::Input {
            index: 0,
            message: format!("input 0 (model hash) limb {i} does not fit in 63 bits"),
        });
    }
    let expected = statement::model_hash_limbs(inputs[..NUM_PARAMS].try_into().unwrap());
    if *limbs != expected {
        return Err(Error::Input {
            index: 0,
            message: format!(
                "input 0 (model hash) is not Poseidon of the parameters ({})",
                statement::felt_hex(&limbs_to_hash(&expected))
            ),
        });
    }
    Ok(public_vector(limbs, inputs, &evaluate(inputs)))
}

/// Proves a public input vector with the given options (used directly by tests and benches).
/// The vector must satisfy the bounds and be the model's output for its inputs.
pub fn prove_public_with_options(
    pi: &[u64; PUBLIC_INPUT_LEN],
    options: ProofOptions,
) -> Result<Proof, Error> {
    check_public_inputs(pi).map_err(|e| Error::PublicInput(e.to_string()))?;
    let inputs: [u64; NUM_INPUTS] = pi[PI_PARAMS..PI_RISK_JEDI].try_into().unwrap();
    let expected = evaluate(&inputs);
    if public_vector(&[0; HASH_LIMBS], &inputs, &expected)[PI_RISK_JEDI..] != pi[PI_RISK_JEDI..] {
        return Err(Error::Prover(format!(
            "public outputs {:?} are not the model's outputs {:?}",
            &pi[PI_RISK_JEDI..],
            &public_vector(&[0; HASH_LIMBS], &inputs, &expected)[PI_RISK_JEDI..]
        )));
    }
    let witness = Witness::from_public(pi);
    if let Some(c) = witness.first_out_of_range() {
        return Err(Error::Prover(format!(
            "internal error: witness column {} out of range",
            air::COLUMNS[c].name
        )));
    }
    prove_trace(pi, &witness, options)
}

/// Builds the trace for a (possibly dishonest) witness and proves it (see [prove_table]).
pub fn prove_trace(
    pi: &[u64; PUBLIC_INPUT_LEN],
    witness: &Witness,
    options: ProofOptions,
) -> Result<Proof, Error> {
    prove_table(pi, build_trace(witness), options)
}

/// Runs the winterfell prover on a trace. Panics raised by winterfell's debug-mode trace
/// validation (an invalid trace) are turned into errors.
pub fn prove_table(
    pi: &[u64; PUBLIC_INPUT_LEN],
    trace: TraceTable<BaseElement>,
    options: ProofOptions,
) -> Result<Proof, Error> {
    let prover = RiskProver::new(options, PublicInputs { values: *pi });
    match catch_unwind(AssertUnwindSafe(|| prover.prove(trace))) {
        Ok(Ok(proof)) => Ok(proof),
        Ok(Err(e)) => Err(Error::Prover(e.to_string())),
        Err(p) => Err(Error::Prover(panic_message(p))),
    }
}

/// Evaluates the model on the inputs and proves the result with the default options.
/// Returns the serialized proof and the 44-value public input vector.
pub fn prove(
    limbs: &[u64; HASH_LIMBS],
    inputs: &[u64; NUM_INPUTS],
) -> Result<(Vec<u8>, [u64; PUBLIC_INPUT_LEN]), Error> {
    let pi = evaluate_public(limbs, inputs)?;
    let proof = prove_public_with_options(&pi, proof_options())?;
    Ok((proof.to_bytes(), pi))
}

// VERIFICATION
// ================================================================================================

/// Checks the fixed-size proof header (trace shape, field, options) before handing the bytes to
/// winterfell, whose deserializer panics on some invalid option values.
fn check_proof_header(bytes: &[u8]) -> Result<(), Error> {
    let err = |m: String| Err(Error::Deserialization(m));
    // TraceInfo: main width u8, aux width u8, aux rands u8, log2(length) u8, meta len u16
    if bytes.len() < 6 {
        return err("proof too short".into());
    }
    let (main, aux, rands, log_len) = (bytes[0], bytes[1], bytes[2], bytes[3]);
    if main as usize != TRACE_WIDTH || aux != 0 || rands != 0 {
        return err(format!(
            "trace shape {main}+{aux} columns does not match this AIR ({TRACE_WIDTH}+0)"
        ));
    }
    if log_len as u32 != TRACE_LENGTH.ilog2() {
        return err(format!(
            "trace length 2^{log_len} does not match this AIR ({TRACE_LENGTH})"
        ));
    }
    let meta_len = u16::from_le_bytes([bytes[4], bytes[5]]) as usize;
    if meta_len != 0 {
        return err("unexpected trace metadata".into());
    }
    let mut pos = 6;
    let modulus = BaseElement::get_modulus_le_bytes();
    let Some(&mlen) = bytes.get(pos) else {
        return err("proof too short".into());
    };
    pos += 1;
    if bytes.get(pos..pos + mlen as usize) != Some(&modulus[..]) {
        return err("proof is not over the Goldilocks field".into());
    }
    pos += mlen as usize;
    // options: queries, blowup, grinding, extension, folding, remainder degree, 2x batching,
    // partitions, hash rate
    let Some(o) = bytes.get(pos..pos + 10) else {
        return err("proof too short".into());
    };
    let ok = o[0] >= 1
        && o[1].is_power_of_two()
        && (2..=128).contains(&o[1])
        && (o[1] as usize) >= TransitionConstraintDegree::with_cycles(2, vec![TRACE_LENGTH]).min_blowup_factor()
        && o[2] <= 32
        && (1..=3).contains(&o[3])
        && o[4].is_power_of_two()
        && (2..=16).contains(&o[4])
        && (o[5] as u16 + 1).is_power_of_two()
        // one partition, hash rate 1 (winterfell's default): the hash rate is not part of the
        // transcript and is unused with one partition, so any other value is a malleated proof
        && o[8] == 1
        && o[9] == 1;
    if !ok {
        return err("invalid proof options".into());
    }
    Ok(())
}

/// A slice reader that refuses to pre-allocate more elements than there are bytes left.
/// winterfell's default `read_many` trusts the encoded length, so a single flipped length byte
/// could make it allocate tens of GB and abort the process.
struct BoundedReader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl ByteReader for BoundedReader<'_> {
    fn read_u8(&mut self) -> Result<u8, DeserializationError> {
        let b = self.peek_u8()?;
        self.pos += 1;
        Ok(b)
    }

    fn peek_u8(&self) -> Result<u8, DeserializationError> {
        self.data
            .get(self.pos)
            .copied()
            .ok_or(DeserializationError::UnexpectedEOF)
    }

    fn read_slice(&mut self, len: usize) -> Result<&[u8], DeserializationError> {
        self.check_eor(len)?;
        let s = &self.data[self.pos..self.pos + len];
        self.pos += len;
        Ok(s)
    }

    fn read_array<const N: usize>(&mut self) -> Result<[u8; N], DeserializationError> {
        Ok(self.read_slice(N)?.try_into().unwrap())
    }

    fn check_eor(&self, num_bytes: usize) -> Result<(), DeserializationError> {
        match self.pos.checked_add(num_bytes) {
            Some(end) if end <= self.data.len() => Ok(()),
            _ => Err(DeserializationError::UnexpectedEOF),
        }
    }

    fn has_more_bytes(&self) -> bool {
        self.pos < self.data.len()
    }

    fn read_many<D: Deserializable>(
        &mut self,
        num_elements: usize,
    ) -> Result<Vec<D>, DeserializationError> {
        // every element of a proof takes at least one byte
        if num_elements > self.data.len() - self.pos {
            return Err(DeserializationError::UnexpectedEOF);
        }
        let mut result = Vec::with_capacity(num_elements);
        for _ in 0..num_elements {
            result.push(D::read_from(self)?);
        }
        Ok(result)
    }
}

/// Size of a Blake3-256 digest in a serialized Merkle multiproof.
const DIGEST_BYTES: usize = 32;

/// Walks a serialized batch Merkle proof (depth u8, node-vector count, then length-prefixed
/// digest vectors) without allocating. winterfell 0.13.1 parses these blobs inside `verify` with
/// `Vec::with_capacity(<count from the proof>)`, so a corrupted count aborts the process with an
/// allocation failure; we refuse such blobs before verification.
fn check_multiproof(blob: &[u8]) -> Result<(), DeserializationError> {
    let mut r = BoundedReader { data: blob, pos: 0 };
    r.read_u8()?;
    let vectors = r.read_usize()?;
    if vectors > blob.len() {
        return Err(DeserializationError::UnexpectedEOF);
    }
    for _ in 0..vectors {
        let n = r.read_usize()?;
        r.read_slice(
            n.checked_mul(DIGEST_BYTES)
                .ok_or(DeserializationError::UnexpectedEOF)?,
        )?;
    }
    if r.has_more_bytes() {
        return Err(DeserializationError::UnconsumedBytes);
    }
    Ok(())
}

/// Checks the parts of a parsed proof that winterfell only decodes inside `verify`, where a
/// corrupted value either aborts the process (see [check_multiproof]) or trips an `assert!`, and
/// pins fields the transcript does not cover.
fn check_proof_structure(proof: &Proof) -> Result<(), DeserializationError> {
    // winterfell asserts at least one query when parsing the query tables
    let unique = proof.num_unique_queries as usize;
    if unique == 0 || unique > proof.options().num_queries() {
        return Err(DeserializationError::InvalidValue(
            "bad number of unique queries".into(),
        ));
    }
    // Queries: values (usize length + bytes), then opening proof (usize length + bytes)
    for q in proof
        .trace_queries
        .iter()
        .chain(std::iter::once(&proof.constraint_queries))
    {
        let bytes = q.to_bytes();
        let mut r = BoundedReader {
            data: &bytes,
            pos: 0,
        };
        let n = r.read_usize()?;
        r.read_slice(n)?;
        let n = r.read_usize()?;
        check_multiproof(r.read_slice(n)?)?;
    }
    // OOD frame: two u16-length blobs, each starting with the frame size (asserted to be 2)
    let bytes = proof.ood_frame.to_bytes();
    let mut r = BoundedReader {
        data: &bytes,
        pos: 0,
    };
    for _ in 0..2 {
        let n = r.read_u16()? as usize;
        if r.read_slice(n)?.first() != Some(&2) {
            return Err(DeserializationError::InvalidValue("bad OOD frame".into()));
        }
    }
    // the FRI partition count is not in the transcript: pin it to the one the prover uses
    if proof.fri_proof.num_partitions() != 1 {
        return Err(DeserializationError::InvalidValue(
            "unexpected FRI partitions".into(),
        ));
    }
    // FRI: u8 layer count, each layer u32 length + values, u32 length + paths
    let bytes = proof.fri_proof.to_bytes();
    let mut r = BoundedReader {
        data: &bytes,
        pos: 0,
    };
    for _ in 0..r.read_u8()? {
        let n = r.read_u32()? as usize;
        r.read_slice(n)?;
        let n = r.read_u32()? as usize;
        check_multiproof(r.read_slice(n)?)?;
    }
    Ok(())
}

/// Parses proof bytes.
pub fn parse_proof(bytes: &[u8]) -> Result<Proof, Error> {
    check_proof_header(bytes)?;
    let parse = || {
        let mut reader = BoundedReader {
            data: bytes,
            pos: 0,
        };
        let proof = Proof::read_from(&mut reader)?;
        if reader.has_more_bytes() {
            return Err(DeserializationError::UnconsumedBytes);
        }
        check_proof_structure(&proof)?;
        Ok(proof)
    };
    match catch_unwind(parse) {
        // only the canonical encoding is accepted: bytes the transcript does not cover (e.g. the
        // partition hash rate, unused with one partition) must not give a second valid proof
        Ok(Ok(p)) if p.to_bytes() == bytes => Ok(p),
        Ok(Ok(_)) => Err(Error::Deserialization(
            "non-canonical proof encoding".into(),
        )),
        Ok(Err(e)) => Err(Error::Deserialization(e.to_string())),
        Err(p) => Err(Error::Deserialization(panic_message(p))),
    }
}

/// Security of a serialized proof, as winterfell computes it from its options and shape.
pub fn security(bytes: &[u8]) -> Result<Security, Error> {
    Ok(Security::of(&parse_proof(bytes)?))
}

/// Checks the length and bounds of a public input vector.
pub fn check_public_vector(values: &[u64]) -> Result<[u64; PUBLIC_INPUT_LEN], Error> {
    let pi: [u64; PUBLIC_INPUT_LEN] = values.try_into().map_err(|_| {
        Error::PublicInput(format!(
            "expected {PUBLIC_INPUT_LEN} public inputs, got {}",
            values.len()
        ))
    })?;
    check_public_inputs(&pi).map_err(|e| Error::PublicInput(e.to_string()))?;
    Ok(pi)
}

/// The model hash limbs must be Poseidon(family, parameters): the hash is what names the model
/// everywhere else (registry, Cairo statement, on-chain approval).
fn check_model_hash(pi: &[u64; PUBLIC_INPUT_LEN]) -> Result<(), Error> {
    let expected = statement::model_hash_limbs(pi[PI_PARAMS..PI_JEDI].try_into().unwrap());
    if pi[PI_HASH..PI_PARAMS] != expected {
        let claimed: [u64; HASH_LIMBS] = pi[PI_HASH..PI_PARAMS].try_into().unwrap();
        return Err(Error::ModelHash(format!(
            "the statement names {} but Poseidon of its parameters is {}",
            statement::felt_hex(&limbs_to_hash(&claimed)),
            statement::felt_hex(&limbs_to_hash(&expected)),
        )));
    }
    Ok(())
}

/// Only proofs made with exactly our option set are accepted: the options are part of the
/// statement, and a prover choosing its own could lower the soundness.
fn check_options(options: &ProofOptions) -> Result<(), Error> {
    if *options == proof_options() {
        return Ok(());
    }
    let what = if *options == retired_v1_options() {
        format!(
            "they are the retired {} options ({}), whose verifier accepted forged proofs",
            BROKEN_PROVER_NAMES[0],
            describe(options)
        )
    } else {
        describe(options)
    };
    Err(Error::Options(format!(
        "{what}; {PROVER_NAME} proofs use {}",
        describe(&proof_options())
    )))
}

/// winter-fri 0.13.1 reads the remainder polynomial from the proof but never compares it with
/// the remainder commitment the prover absorbed into the transcript before the query positions
/// were drawn (the last FRI commitment is the hash of the remainder's coefficients). Without
/// this check the remainder can be chosen after the queries are known.
fn check_remainder_binding(proof: &Proof) -> Result<(), Error> {
    let fri_options = proof.options().to_fri_options();
    let num_layers = fri_options.num_fri_layers(proof.lde_domain_size());
    let malformed = |e: DeserializationError| Error::Deserialization(e.to_string());
    let (_, _, fri_commitments) = proof
        .commitments
        .clone()
        .parse::<Hasher>(proof.trace_info().num_segments(), num_layers)
        .map_err(malformed)?;
    fn digest<E: FieldElement<BaseField = BaseElement>>(
        proof: &Proof,
    ) -> Result<<Hasher as winterfell::crypto::Hasher>::Digest, DeserializationError> {
        Ok(Hasher::hash_elements(
            &proof.fri_proof.parse_remainder::<E>()?,
        ))
    }
    let remainder = match proof.options().field_extension() {
        FieldExtension::None => digest::<BaseElement>(proof),
        FieldExtension::Quadratic => digest::<QuadExtension<BaseElement>>(proof),
        FieldExtension::Cubic => digest::<CubeExtension<BaseElement>>(proof),
    }
    .map_err(malformed)?;
    if Some(&remainder) != fri_commitments.last() {
        return Err(Error::RemainderBinding);
    }
    Ok(())
}

/// What a winterfell refusal means for someone checking a decision.
fn plain_reason(error: VerifierError) -> Error {
    use VerifierError::*;
    let m = match &error {
        InconsistentOodConstraintEvaluations => {
            "the proof does not match the claimed statement: the risk model's constraints do not \
             hold for these inputs and outputs"
        }
        TraceQueryDoesNotMatchCommitment | ConstraintQueryDoesNotMatchCommitment => {
            "the proof is corrupted: values it opens do not match what it committed to"
        }
        QuerySeedProofOfWorkVerificationFailed => {
            "the proof is corrupted: its proof-of-work nonce is wrong"
        }
        FriVerificationFailed(_) => {
            "the proof does not match the claimed statement: its low-degree test fails"
        }
        ProofDeserializationError(m) => return Error::Deserialization(m.clone()),
        InsufficientConjecturedSecurity(..)
        | InsufficientProvenSecurity(..)
        | UnacceptableProofOptions
        | UnsupportedFieldExtension(_)
        | InconsistentBaseField => return Error::Options(error.to_string()),
        RandomCoinError => "the proof is corrupted: its transcript cannot be replayed",
    };
    Error::Verification(format!("{m} (winterfell: {error})"))
}

/// Verifies a serialized proof against a public input vector: bounds, model hash, encoding,
/// option set, remainder binding, then winterfell. Returns the proof's security.
pub fn verify(bytes: &[u8], public_inputs: &[u64]) -> Result<Security, Error> {
    // bounds first: the AIR's soundness argument assumes them
    let pi = check_public_vector(public_inputs)?;
    check_model_hash(&pi)?;
    let proof = parse_proof(bytes)?;
    check_options(proof.options())?;
    check_remainder_binding(&proof)?;
    let security = Security::of(&proof);
    let result = catch_unwind(AssertUnwindSafe(|| {
        winterfell::verify::<RiskAir, Hasher, RandomCoin, VectorCommitment>(
            proof,
            PublicInputs { values: pi },
            &AcceptableOptions::OptionSet(vec![proof_options()]),
        )
    }));
    match result {
        Ok(Ok(())) => Ok(security),
        Ok(Err(e)) => Err(plain_reason(e)),
        Err(p) => Err(Error::Deserialization(format!(
            "malformed proof ({})",
            panic_message(p)
        ))),
    }
}
