//! Proof options: part of the statement. The verifier accepts exactly [proof_options]; the
//! prover cannot pick its own.
//!
//! 80 queries at blowup 8 with 12 bits of grinding over the cubic extension of Goldilocks give
//! 128 bits of *proven* (list-decoding) security as winterfell 0.13.1 computes it, which is also
//! the cap set by Blake3-256's collision resistance; conjectured security is 128 as well.
//! Measured on 2 cores (`cargo run --release --example bench`): ~5 ms to prove, ~2 ms to verify,
//! ~55 KB. Blowup 16 needs 60 queries for the same bits but proves ~1.6x slower; more grinding
//! (16 bits) saves 4 queries for ~10 ms of proving.
//!
//! FRI folding 8 with remainder degree 7 leaves one FRI layer: the 512-point DEEP evaluation is
//! committed, folded once to 64 points, and the remainder has 8 coefficients, far fewer than the
//! (de-duplicated, folded) query positions, so a remainder cannot be interpolated through them.

use winterfell::{
    math::{fields::f64::BaseElement, StarkField},
    BatchingMethod, FieldExtension, Proof, ProofOptions,
};

use crate::prover::Hasher;

pub const NUM_QUERIES: usize = 80;
pub const BLOWUP_FACTOR: usize = 8;
pub const GRINDING_FACTOR: u32 = 12;
pub const FIELD_EXTENSION: FieldExtension = FieldExtension::Cubic;
pub const FRI_FOLDING_FACTOR: usize = 8;
pub const FRI_REMAINDER_MAX_DEGREE: usize = 7;
pub const HASH_FUNCTION: &str = "blake3-256";

/// The one option set proofs are made and accepted with.
pub fn proof_options() -> ProofOptions {
    ProofOptions::new(
        NUM_QUERIES,
        BLOWUP_FACTOR,
        GRINDING_FACTOR,
        FIELD_EXTENSION,
        FRI_FOLDING_FACTOR,
        FRI_REMAINDER_MAX_DEGREE,
        BatchingMethod::Linear,
        BatchingMethod::Linear,
    )
}

/// The options of `obsqra-risk-air-v1` proofs (32 queries, blowup 8, quadratic extension, FRI
/// remainder degree 63 = zero FRI layers). Their verifier accepted forged proofs; they are kept
/// only so a refusal can say that a proof was made with them.
pub fn retired_v1_options() -> ProofOptions {
    ProofOptions::new(
        32,
        8,
        8,
        FieldExtension::Quadratic,
        8,
        63,
        BatchingMethod::Linear,
        BatchingMethod::Linear,
    )
}

/// Security of a proof in bits, as winterfell computes it from the proof's options and shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Security {
    /// Conjectured security (ethSTARK conjecture, eprint 2021/582).
    pub conjectured_bits: u32,
    /// Proven security, the better of the list- and unique-decoding bounds (eprint 2024/1553).
    pub proven_bits: u32,
}

impl Security {
    pub fn of(proof: &Proof) -> Self {
        let proven = proof.proven_security::<Hasher>();
        Security {
            conjectured_bits: proof.conjectured_security::<Hasher>().bits(),
            proven_bits: proven.ldr_bits().max(proven.udr_bits()),
        }
    }
}

/// A one-line description of an option set, for refusals.
pub fn describe(options: &ProofOptions) -> String {
    format!(
        "{} queries, blowup {}, grinding {}, {}-degree extension of the {}-bit field, FRI folding {} \
         down to degree {}",
        options.num_queries(),
        options.blowup_factor(),
        options.grinding_factor(),
        options.field_extension().degree(),
        BaseElement::MODULUS_BITS,
        options.to_fri_options().folding_factor(),
        options.to_fri_options().remainder_max_degree(),
    )
}

/// Security of every proof made with [proof_options] (it depends only on the options, the trace
/// shape and the number of constraints, all fixed by the AIR).
pub fn default_security() -> Security {
    use winterfell::{Air, TraceInfo};

    use crate::air::{PublicInputs, RiskAir, TRACE_LENGTH, TRACE_WIDTH};
    use crate::model::PUBLIC_INPUT_LEN;

    let trace_info = TraceInfo::new(TRACE_WIDTH, TRACE_LENGTH);
    let air = RiskAir::new(
        trace_info.clone(),
        PublicInputs {
            values: [0; PUBLIC_INPUT_LEN],
        },
        proof_options(),
    );
    let num_constraints =
        air.context().num_assertions() + air.context().num_transition_constraints();
    let proof = Proof {
        context: winter_air::proof::Context::new::<BaseElement>(
            trace_info,
            proof_options(),
            num_constraints,
        ),
        ..Proof::new_dummy()
    };
    Security::of(&proof)
}
