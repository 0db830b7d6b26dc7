//! A malicious prover, test-only: winterfell 0.13.1's proof pipeline (winter-prover
//! `Prover::generate_proof`, winter-prover/src/lib.rs at crate commit
//! 2f78ee9bf667a561bdfcdfa68668d0f9b18b8315) rebuilt from the library's public parts, with the
//! three places an attacker changes:
//!
//! * the committed trace: any trace (an honest one for other outputs, all zeros);
//! * the out-of-domain frame it sends: honest, or arbitrary trace values, with one composition
//!   value solved so that winterfell's OOD consistency check holds;
//! * the FRI remainder it sends: the committed one, or one interpolated through the DEEP values
//!   at the query positions, chosen *after* the positions are known.
//!
//! Run without lies it reproduces winterfell's honest proofs byte for byte
//! (`pipeline_is_winterfells`), so every forgery below differs from an honest proof only where
//! the attack says.

use winter_air::proof::{
    merge_ood_evaluations, Commitments, Context, OodFrame, QuotientOodFrame, TraceOodFrame,
};
use winter_fri::{folding::apply_drp, FriProof, FriProver};
use winter_prover::ConstraintCommitment as _;
use winter_utils::{transpose_slice, Deserializable, Serializable};
use winterfell::{
    crypto::{ElementHasher, RandomCoin as _},
    math::{
        fields::{f64::BaseElement, CubeExtension, QuadExtension},
        polynom, FieldElement, ToElements,
    },
    Air, ConstraintEvaluator, DefaultConstraintCommitment, DefaultConstraintEvaluator,
    DefaultTraceLde, EvaluationFrame, Proof, ProofOptions, StarkDomain, Trace, TraceLde,
    TraceTable,
};

use crate::air::{PublicInputs, RiskAir};
use crate::model::*;
use crate::options::{proof_options, retired_v1_options};
use crate::prover::{build_trace, Hasher, RandomCoin, VectorCommitment, Witness};
use crate::*;

use super::{lying_public, public, v1_inputs, v2_inputs};

type Digest = <Hasher as winterfell::crypto::Hasher>::Digest;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum OodLie {
    /// The trace and composition polynomials evaluated at z.
    Honest,
    /// The honest trace values; the first composition value solved for the OOD check.
    SolvedComposition,
    /// Arbitrary trace values (from a seed); the first composition value solved.
    ArbitraryTrace(u64),
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum RemainderLie {
    Committed,
    InterpolatedAfterQueries,
}

struct Forgery {
    options: ProofOptions,
    claimed: [u64; PUBLIC_INPUT_LEN],
    trace: TraceTable<BaseElement>,
    ood: OodLie,
    remainder: RemainderLie,
}

/// The FRI prover's channel: the same transcript as winterfell's prover channel.
struct FriChannel {
    coin: RandomCoin,
    commitments: Commitments,
    alphas: Vec<Vec<u64>>,
}

impl<E: FieldElement<BaseField = BaseElement>> winter_fri::ProverChannel<E> for FriChannel {
    type Hasher = Hasher;

    fn commit_fri_layer(&mut self, root: Digest) {
        self.commitments.add::<Hasher>(&root);
        self.coin.reseed(root);
    }

    fn draw_fri_alpha(&mut self) -> E {
        let alpha: E = self.coin.draw().expect("alpha");
        self.alphas.push(
            E::slice_as_base_elements(&[alpha])
                .iter()
                .map(|b| b.as_int())
                .collect(),
        );
        alpha
    }
}

/// winter-verifier's `evaluate_constraints` (private there) from the AIR's public methods: the
/// combined constraint value the verifier expects at `z` for an OOD trace frame.
fn constraints_at<E: FieldElement<BaseField = BaseElement>>(
    air: &RiskAir,
    coefficients: &winterfell::ConstraintCompositionCoefficients<E>,
    frame: &EvaluationFrame<E>,
    z: E,
) -> E {
    let transition = air.get_transition_constraints(&coefficients.transition);
    let periodic: Vec<E> = air
        .get_periodic_column_polys()
        .iter()
        .map(|poly| {
            let cycles = air.trace_length() / poly.len();
            polynom::eval(poly, z.exp_vartime((cycles as u32).into()))
        })
        .collect();
    let mut evaluations = vec![E::ZERO; transition.num_main_constraints()];
    air.evaluate_transition(frame, &periodic, &mut evaluations);
    let mut result = transition.combine_evaluations::<E>(&evaluations, &[], z);
    for group in air
        .get_boundary_constraints(None, &coefficients.boundary)
        .main_constraints()
    {
        result += group.evaluate_at(frame.current(), z);
    }
    result
}

fn arbitrary<E: FieldElement<BaseField = BaseElement>>(seed: u64, n: usize) -> Vec<E> {
    let mut rng = super::Rng(seed);
    (0..n)
        .map(|_| {
            let base: Vec<BaseElement> = (0..E::EXTENSION_DEGREE)
                .map(|_| BaseElement::new(rng.next()))
                .collect();
            E::slice_from_base_elements(&base)[0]
        })
        .collect()
}

impl Forgery {
    fn honest(options: ProofOptions, inputs: &[u64; NUM_INPUTS]) -> Self {
        let claimed = public(inputs);
        let trace = build_trace(&Witness::from_public(&claimed));
        Forgery {
            options,
            claimed,
            trace,
            ood: OodLie::Honest,
            remainder: RemainderLie::Committed,
        }
    }

    fn prove(&self) -> Vec<u8> {
        match self.options.field_extension() {
            winterfell::FieldExtension::Quadratic => self.run::<QuadExtension<BaseElement>>(),
            winterfell::FieldExtension::Cubic => self.run::<CubeExtension<BaseElement>>(),
            other => panic!("unsupported extension {other:?}"),
        }
        .to_bytes()
    }

    fn run<E: FieldElement<BaseField = BaseElement>>(&self) -> Proof {
        let pub_inputs = PublicInputs {
            values: self.claimed,
        };
        let trace_info = self.trace.info().clone();
        let air = RiskAir::new(trace_info.clone(), pub_inputs.clone(), self.options.clone());
        let num_constraints =
            air.context().num_assertions() + air.context().num_transition_constraints();
        let context =
            Context::new::<BaseElement>(trace_info.clone(), self.options.clone(), num_constraints);
        let mut seed = context.to_elements();
        seed.extend(pub_inputs.to_elements());
        let mut coin = RandomCoin::new(&seed);
        let mut commitments = Commitments::default();
        let partition = self.options.partition_options();

        // 1. trace
        let domain = StarkDomain::new(&air);
        let (trace_lde, trace_polys) = DefaultTraceLde::<E, Hasher, VectorCommitment>::new(
            &trace_info,
            self.trace.main_segment(),
            &domain,
            partition,
        );
        let root = trace_lde.get_main_trace_commitment();
        commitments.add::<Hasher>(&root);
        coin.reseed(root);

        // 2. constraints
        let coefficients = air
            .get_constraint_composition_coefficients::<E, _>(&mut coin)
            .unwrap();
        let composition_trace = DefaultConstraintEvaluator::new(&air, None, coefficients.clone())
            .evaluate(&trace_lde, &domain);
        let (constraint_commitment, composition_poly) =
            DefaultConstraintCommitment::<E, Hasher, VectorCommitment>::new(
                composition_trace,
                air.context().num_constraint_composition_columns(),
                &domain,
                partition,
            );
        let root = constraint_commitment.commitment();
        commitments.add::<Hasher>(&root);
        coin.reseed(root);

        // 3. out-of-domain frame (attack point 2)
        let z: E = coin.draw().unwrap();
        let honest_trace = trace_polys.get_ood_frame(z);
        let honest_quotient = composition_poly.get_ood_frame(z);
        let width = trace_info.main_trace_width();
        let trace_ood = match self.ood {
            OodLie::Honest | OodLie::SolvedComposition => honest_trace,
            OodLie::ArbitraryTrace(seed) => {
                TraceOodFrame::new(arbitrary(seed, width), arbitrary(seed + 1, width), width)
            }
        };
        let mut current = honest_quotient.current_row().to_vec();
        if self.ood != OodLie::Honest {
            let frame = trace_ood.main_frame();
            let expected = constraints_at(&air, &coefficients, &frame, z);
            let sent = current.iter().enumerate().fold(E::ZERO, |acc, (i, &v)| {
                acc + z.exp_vartime(((i * air.trace_length()) as u32).into()) * v
            });
            current[0] += expected - sent;
        }
        let quotient_ood = QuotientOodFrame::new(current, honest_quotient.next_row().to_vec());
        let mut ood_frame = OodFrame::default();
        ood_frame.set_trace_states::<E>(&trace_ood);
        ood_frame.set_quotient_states::<E>(&quotient_ood);
        coin.reseed(Hasher::hash_elements(&merge_ood_evaluations(
            &trace_ood,
            &quotient_ood,
        )));

        // 4. DEEP composition over the LDE domain, with the verifier's formula (DeepComposer)
        let deep = air
            .get_deep_composition_coefficients::<E, _>(&mut coin)
            .unwrap();
        let (g_lde, offset) = (air.lde_domain_generator(), air.domain_offset());
        let z_next = z * E::from(air.trace_domain_generator());
        let columns = composition_poly.data();
        let deep_evaluations: Vec<E> = (0..air.lde_domain_size())
            .map(|p| {
                let x = E::from(offset * g_lde.exp_vartime(p as u64));
                let (mut at_z, mut at_next) = (E::ZERO, E::ZERO);
                for (i, value) in trace_polys.evaluate_at(x).into_iter().enumerate() {
                    at_z += (value - trace_ood.current_row()[i]) * deep.trace[i];
                    at_next += (value - trace_ood.next_row()[i]) * deep.trace[i];
                }
                for i in 0..columns.num_cols() {
                    let value = polynom::eval(columns.get_column(i), x);
                    at_z += (value - quotient_ood.current_row()[i]) * deep.constraints[i];
                    at_next += (value - quotient_ood.next_row()[i]) * deep.constraints[i];
                }
                at_z / (x - z) + at_next / (x - z_next)
            })
            .collect();

        // 5. FRI, proof of work, queries
        let fri_options = self.options.to_fri_options();
        let mut fri_prover =
            FriProver::<E, FriChannel, Hasher, VectorCommitment>::new(fri_options.clone());
        let mut channel = FriChannel {
            coin,
            commitments,
            alphas: vec![],
        };
        fri_prover.build_layers(&mut channel, deep_evaluations.clone());
        let FriChannel {
            mut coin,
            commitments,
            alphas,
        } = channel;
        let grinding = self.options.grinding_factor();
        let pow_nonce = (1..u64::MAX)
            .find(|&n| coin.check_leading_zeros(n) >= grinding)
            .unwrap();
        let mut positions = coin
            .draw_integers(self.options.num_queries(), air.lde_domain_size(), pow_nonce)
            .unwrap();
        positions.sort_unstable();
        positions.dedup();

        let mut fri_proof = fri_prover.build_proof(&positions);
        // 6. the remainder, chosen now that the positions are known (attack point 3)
        if self.remainder == RemainderLie::InterpolatedAfterQueries {
            let layers = fri_options.num_fri_layers(air.lde_domain_size());
            let (points, values) = remainder_targets::<E>(
                &deep_evaluations,
                &positions,
                layers,
                &alphas,
                offset,
                g_lde,
            );
            let length = fri_proof.num_remainder_elements::<E>();
            // as many points as the remainder has coefficients: all of them if they fit
            let used = points.len().min(length);
            let mut coefficients = polynom::interpolate(&points[..used], &values[..used], false);
            coefficients.resize(length, E::ZERO);
            coefficients.reverse(); // winterfell sends the remainder highest degree first
            fri_proof = replace_remainder::<E>(&fri_proof, &coefficients);
        }

        Proof {
            context,
            num_unique_queries: positions.len() as u8,
            commitments,
            trace_queries: trace_lde.query(&positions),
            constraint_queries: constraint_commitment.query(&positions),
            ood_frame,
            fri_proof,
            pow_nonce,
        }
    }
}

/// The points and values the verifier compares the remainder with: the DEEP values at the query
/// positions (no FRI layer), or their fold at the folded positions (one layer of folding 8).
fn remainder_targets<E: FieldElement<BaseField = BaseElement>>(
    deep: &[E],
    positions: &[usize],
    layers: usize,
    alphas: &[Vec<u64>],
    offset: BaseElement,
    g_lde: BaseElement,
) -> (Vec<E>, Vec<E>) {
    let point = |g: BaseElement, p: usize| E::from(offset * g.exp_vartime(p as u64));
    match layers {
        0 => positions
            .iter()
            .map(|&p| (point(g_lde, p), deep[p]))
            .unzip(),
        1 => {
            let base: Vec<BaseElement> = alphas[0].iter().map(|&a| BaseElement::new(a)).collect();
            let alpha = E::slice_from_base_elements(&base)[0];
            let folded = apply_drp(&transpose_slice::<E, 8>(deep), offset, alpha);
            let mut rows: Vec<usize> = positions.iter().map(|&p| p % folded.len()).collect();
            rows.sort_unstable();
            rows.dedup();
            let g_folded = g_lde.exp_vartime(8);
            rows.iter()
                .map(|&q| (point(g_folded, q), folded[q]))
                .unzip()
        }
        n => panic!("{n} FRI layers not modelled"),
    }
}

/// The same FRI proof with other remainder coefficients (FriProof's constructor is crate-private:
/// the remainder is the serialization's last length-prefixed blob, before the partition byte).
fn replace_remainder<E: FieldElement>(proof: &FriProof, coefficients: &[E]) -> FriProof {
    let mut bytes = proof.to_bytes();
    let mut remainder = vec![];
    for c in coefficients {
        c.write_into(&mut remainder);
    }
    let end = bytes.len() - 1;
    bytes[end - remainder.len()..end].copy_from_slice(&remainder);
    FriProof::read_from_bytes(&bytes).unwrap()
}

fn vanilla_verify(
    proof: &[u8],
    pi: &[u64; PUBLIC_INPUT_LEN],
) -> Result<(), winterfell::VerifierError> {
    winterfell::verify::<RiskAir, Hasher, RandomCoin, VectorCommitment>(
        Proof::from_bytes(proof).unwrap(),
        PublicInputs { values: *pi },
        &winterfell::AcceptableOptions::MinConjecturedSecurity(96),
    )
}

/// A decision that broke three rules (max_single, max_volatility, min_liquidity), claimed as
/// passing: same inputs and split, violations mask 0.
fn clean_record_for_a_rejected_decision() -> ([u64; PUBLIC_INPUT_LEN], [u64; PUBLIC_INPUT_LEN]) {
    let mut inputs = v2_inputs();
    inputs[19..24].copy_from_slice(&[9000, 9500, 3, 10, 1]); // jediswap: volatile, thin, new
    inputs[31..35].copy_from_slice(&[6000, 2, 5000, 2]); // policy
    let honest = public(&inputs);
    assert_eq!(honest[PI_MASK], 0b1101, "the decision breaks three rules");
    let mut claimed = honest;
    claimed[PI_MASK] = 0;
    (honest, claimed)
}

#[test]
fn pipeline_is_winterfells() {
    for options in [proof_options(), retired_v1_options()] {
        let forgery = Forgery::honest(options.clone(), &v1_inputs());
        let ours = forgery.prove();
        let winterfells = prove_public_with_options(&forgery.claimed, options)
            .unwrap()
            .to_bytes();
        assert!(
            ours == winterfells,
            "the attacker's pipeline must equal winterfell's when honest"
        );
    }
}

/// Runs an attack under the retired v1 options (where it fools winterfell's own verifier) and
/// under ours, and checks who refuses it.
fn assert_forgery_refused(make: impl Fn(ProofOptions) -> Forgery) {
    // v1 options: the forgery is real, winterfell 0.13.1 accepts it...
    let old = make(retired_v1_options());
    let proof = old.prove();
    assert!(
        vanilla_verify(&proof, &old.claimed).is_ok(),
        "the attack must fool plain winterfell"
    );
    // ...and the remainder binding alone catches it, before the option check even matters
    let parsed = parse_proof(&proof).unwrap();
    assert_eq!(
        check_remainder_binding(&parsed),
        Err(Error::RemainderBinding)
    );
    assert!(matches!(
        verify(&proof, &old.claimed),
        Err(Error::Options(_))
    ));

    // our options: refused by the binding, and by winterfell's low-degree test behind it
    let new = make(proof_options());
    let proof = new.prove();
    assert_eq!(verify(&proof, &new.claimed), Err(Error::RemainderBinding));
    assert!(vanilla_verify(&proof, &new.claimed).is_err());
}

#[test]
fn attack_wrong_outputs_with_remainder_interpolated_after_queries() {
    assert_forgery_refused(|options| {
        // jediswap's score claimed one point higher, the split recomputed from the lie
        let claimed = lying_public();
        Forgery {
            options,
            claimed,
            // the honest trace of the true decision
            trace: build_trace(&Witness::from_public(&public(&v1_inputs()))),
            ood: OodLie::SolvedComposition,
            remainder: RemainderLie::InterpolatedAfterQueries,
        }
    });
}

#[test]
fn attack_arbitrary_ood_frame() {
    assert_forgery_refused(|options| {
        let (_, claimed) = clean_record_for_a_rejected_decision();
        Forgery {
            options,
            claimed,
            trace: build_trace(&Witness::from_public(&claimed)),
            ood: OodLie::ArbitraryTrace(7),
            remainder: RemainderLie::InterpolatedAfterQueries,
        }
    });
}

#[test]
fn attack_all_zero_trace_with_arbitrary_outputs() {
    assert_forgery_refused(|options| {
        let mut claimed = public(&v1_inputs());
        claimed[PI_RISK_JEDI..].copy_from_slice(&[0, 1000, 9999, 1, 0]);
        let zeros = vec![vec![BaseElement::ZERO; air::TRACE_LENGTH]; air::TRACE_WIDTH];
        Forgery {
            options,
            claimed,
            trace: TraceTable::init(zeros),
            ood: OodLie::ArbitraryTrace(11),
            remainder: RemainderLie::InterpolatedAfterQueries,
        }
    });
}

#[test]
fn attack_lying_ood_frame_with_committed_remainder() {
    // without the remainder trick the forgery is an ordinary false proof: FRI refuses it
    let (_, claimed) = clean_record_for_a_rejected_decision();
    let forgery = Forgery {
        options: proof_options(),
        claimed,
        trace: build_trace(&Witness::from_public(&claimed)),
        ood: OodLie::SolvedComposition,
        remainder: RemainderLie::Committed,
    };
    match verify(&forgery.prove(), &claimed) {
        Err(Error::Verification(m)) => assert!(m.contains("low-degree test"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn attack_honest_proof_of_the_true_decision_passed_off_as_clean() {
    // the attacker proves the real decision, then claims violations = 0 for it
    let (honest, claimed) = clean_record_for_a_rejected_decision();
    let proof = prove_public_with_options(&honest, proof_options())
        .unwrap()
        .to_bytes();
    verify(&proof, &honest).unwrap();
    match verify(&proof, &claimed) {
        Err(Error::Verification(m)) => {
            assert!(
                m.starts_with("the proof does not match the claimed statement"),
                "{m}"
            )
        }
        other => panic!("{other:?}"),
    }
}
