//! Tests: known answers, reference vs. a literal reading of the spec, prove/verify round trips,
//! tampering, weak options, and cheating provers.

use winterfell::{
    math::{fields::f64::BaseElement, FieldElement},
    Air, BatchingMethod, FieldExtension, ProofOptions, Trace,
};

use crate::air::*;
use crate::model::*;
use crate::options::{proof_options, Security};
use crate::prover::{build_trace, to_field, Witness};
use crate::*;

mod facts;
mod malicious_prover;
mod proof_file;

// HELPERS
// ================================================================================================

const V1: [u64; NUM_PARAMS] = [
    35, 10000, 0, 30, 10000, 0, 15, 10, 5, 0, 1, 5, 0, 1000, 1, 100, 99, 5, 95,
];
const V2: [u64; NUM_PARAMS] = [
    25, 10000, 0, 40, 10000, 0, 0, 5, 15, 30, 3, 10, 0, 730, 10, 730, 0, 5, 95,
];
/// The model hash limbs of the inputs' parameters.
fn hash_of(inp: &[u64; NUM_INPUTS]) -> [u64; HASH_LIMBS] {
    statement::model_hash_limbs(inp[..NUM_PARAMS].try_into().unwrap())
}

fn inputs(
    params: &[u64; NUM_PARAMS],
    j: [u64; 5],
    e: [u64; 5],
    apy: [u64; 2],
    pol: [u64; 4],
) -> [u64; NUM_INPUTS] {
    let mut v = [0u64; NUM_INPUTS];
    v[..19].copy_from_slice(params);
    v[19..24].copy_from_slice(&j);
    v[24..29].copy_from_slice(&e);
    v[29..31].copy_from_slice(&apy);
    v[31..35].copy_from_slice(&pol);
    v
}

fn v1_inputs() -> [u64; NUM_INPUTS] {
    inputs(
        &V1,
        [6500, 3500, 1, 98, 800],
        [5000, 2500, 2, 95, 600],
        [850, 1210],
        [6000, 2, 10000, 3],
    )
}

fn v2_inputs() -> [u64; NUM_INPUTS] {
    inputs(
        &V2,
        [500, 2000, 2, 85, 365],
        [500, 2000, 2, 85, 365],
        [850, 1210],
        [6000, 2, 10000, 3],
    )
}

/// splitmix64: deterministic randomness without extra dependencies.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in lo..=hi, hitting the ends with probability ~1/4 each.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        match self.next() % 8 {
            0 | 1 => lo,
            2 | 3 => hi,
            _ => lo + self.next() % (hi - lo + 1),
        }
    }
}

fn random_inputs(rng: &mut Rng) -> [u64; NUM_INPUTS] {
    let mut p = [0u64; NUM_PARAMS];
    for (w, d, o) in [(0, 1, 2), (3, 4, 5), (10, 11, 12), (14, 15, 16)] {
        p[w] = rng.range(0, MAX_WEIGHT);
        p[d] = rng.range(1, MAX_DIVISOR);
        p[o] = rng.range(0, p[d] - 1);
    }
    for pts in p[P_LIQ_PTS..P_LIQ_PTS + 4].iter_mut() {
        *pts = rng.range(0, MAX_LIQ_POINTS);
    }
    p[P_AGE_CAP] = rng.range(0, MAX_AGE_CAP);
    let a = rng.range(0, MAX_CLAMP);
    let b = rng.range(0, MAX_CLAMP);
    p[P_CLAMP_MIN] = a.min(b);
    p[P_CLAMP_MAX] = a.max(b);
    let mut metrics = || {
        [
            rng.range(0, MAX_UTIL),
            rng.range(0, MAX_VOL),
            rng.range(0, MAX_LIQ_TIER),
            rng.range(0, MAX_AUDIT),
            rng.range(0, MAX_AGE_DAYS),
        ]
    };
    let (j, e) = (metrics(), metrics());
    let apy = [rng.range(1, MAX_APY), rng.range(1, MAX_APY)];
    let pol = [
        rng.range(0, BPS),
        rng.range(0, 2),
        rng.range(0, MAX_VOL),
        rng.range(0, 3),
    ];
    inputs(&p, j, e, apy, pol)
}

fn public(inp: &[u64; NUM_INPUTS]) -> [u64; PUBLIC_INPUT_LEN] {
    evaluate_public(&hash_of(inp), inp).expect("valid inputs")
}

/// Proves with the default options and returns the bytes.
fn prove_bytes(pi: &[u64; PUBLIC_INPUT_LEN]) -> Vec<u8> {
    prove_public_with_options(pi, proof_options())
        .expect("prove")
        .to_bytes()
}

// MODEL
// ================================================================================================

#[test]
fn known_answers_v1() {
    assert_eq!(risk_score(&V1, &[6500, 3500, 1, 98, 800]), 44);
    assert_eq!(risk_score(&V1, &[5000, 2500, 2, 95, 600]), 34);
}

#[test]
fn known_answers_v2() {
    let pi = public(&v2_inputs());
    assert_eq!(pi[PI_RISK_JEDI..=PI_MASK], [33, 33, 4126, 5874, 0]);
}

/// A literal, independent reading of the statement (i128, explicit branches).
fn literal(inp: &[u64; NUM_INPUTS]) -> ([u64; 2], [u64; 2], u64) {
    let x: Vec<i128> = inp.iter().map(|&v| v as i128).collect();
    let floor = |n: i128, d: i128| -> i128 {
        let mut q = 0;
        // floor division by repeated halving search, no '/' operator
        let mut step = 1i128 << 40;
        while step > 0 {
            if (q + step) * d <= n {
                q += step;
            }
            step >>= 1;
        }
        q
    };
    let mut risk = [0i128; 2];
    for (p, r) in risk.iter_mut().enumerate() {
        let m = &x[19 + 5 * p..24 + 5 * p];
        let t_util = floor(m[0] * x[0] + x[2], x[1]);
        let t_vol = floor(m[1] * x[3] + x[5], x[4]);
        let t_liq = x[6 + m[2] as usize];
        let t_audit = floor((100 - m[3]) * x[10] + x[12], x[11]);
        let age = if m[4] < x[13] { m[4] } else { x[13] };
        let t_age = floor((x[13] - age) * x[14] + x[16], x[15]);
        let s = t_util + t_vol + t_liq + t_audit + t_age;
        *r = if s < x[17] {
            x[17]
        } else if s > x[18] {
            x[18]
        } else {
            s
        };
    }
    let alloc = [
        floor(x[29] * 10000, risk[0] + 1),
        floor(x[30] * 10000, risk[1] + 1),
    ];
    let pj = floor(alloc[0] * 10000, alloc[0] + alloc[1]);
    let pct = [pj, 10000 - pj];
    let mut mask = 0;
    if pct[0] > x[31] || pct[1] > x[31] {
        mask += 1;
    }
    let count = (pct[0] >= 1000) as i128 + (pct[1] >= 1000) as i128;
    if count < x[32] {
        mask += 2;
    }
    if x[20] > x[33] || x[25] > x[33] {
        mask += 4;
    }
    if x[21] > x[34] || x[26] > x[34] {
        mask += 8;
    }
    (
        [risk[0] as u64, risk[1] as u64],
        [pct[0] as u64, pct[1] as u64],
        mask,
    )
}

#[test]
fn reference_matches_literal_reading() {
    let mut rng = Rng(1);
    let mut masks = [false; 16];
    for _ in 0..20_000 {
        let inp = random_inputs(&mut rng);
        check_inputs(&inp).unwrap();
        let out = evaluate(&inp);
        let (risk, pct, mask) = literal(&inp);
        assert_eq!(
            (out.risk, out.pct, out.mask),
            (risk, pct, mask),
            "inputs {inp:?}"
        );
        masks[mask as usize] = true;
        // an honest witness always fits the column widths
        let pi = public(&inp);
        assert_eq!(
            Witness::from_public(&pi).first_out_of_range(),
            None,
            "inputs {inp:?}"
        );
    }
    assert!(
        masks.iter().filter(|&&m| m).count() >= 12,
        "mask coverage {masks:?}"
    );
}

#[test]
fn hash_limbs_roundtrip() {
    let mut rng = Rng(7);
    for _ in 0..1000 {
        let mut bytes = [0u8; 32];
        for b in bytes.iter_mut() {
            *b = rng.next() as u8;
        }
        bytes[31] &= 0x0F;
        let limbs = hash_to_limbs(&bytes).unwrap();
        assert!(limbs.iter().all(|&l| l <= LIMB_MASK));
        assert_eq!(limbs_to_hash(&limbs), bytes);
    }
    let mut big = [0u8; 32];
    big[31] = 0x10; // 2^252
    assert_eq!(hash_to_limbs(&big), None);
    let mut one = [0u8; 32];
    one[0] = 1;
    assert_eq!(hash_to_limbs(&one), Some([1, 0, 0, 0]));
}

#[test]
fn bounds_are_enforced() {
    let pi = public(&v1_inputs());
    let expect = |i: usize, v: u64| {
        let mut bad = pi;
        bad[i] = v;
        let e = check_public_inputs(&bad).unwrap_err();
        assert_eq!(e.index, i, "{e}");
        assert!(
            e.to_string().starts_with(&format!("public input {i} (")),
            "{e}"
        );
    };
    expect(0, 1 << 63);
    expect(PI_PARAMS + P_UTIL_D, 0);
    expect(PI_PARAMS + P_UTIL_O, V1[P_UTIL_D]); // offset must be < divisor
    expect(PI_PARAMS + P_AGE_D, MAX_DIVISOR + 1);
    expect(PI_PARAMS + P_CLAMP_MAX, V1[P_CLAMP_MIN] - 1);
    expect(PI_JEDI + M_LIQ, 4);
    expect(PI_EKUBO + M_AUDIT, 101);
    expect(PI_APY_JEDI, 0);
    expect(PI_POLICY + POL_MIN_DIV, 3);
    expect(PI_RISK_JEDI, 1001);
    expect(PI_PCT_EKUBO, 10001);
    expect(PI_MASK, 16);
    assert_eq!(
        check_public_inputs(&{
            let mut b = pi;
            b[PI_RISK_JEDI] = 1001;
            b
        })
        .unwrap_err()
        .to_string(),
        "public input 39 (jediswap risk score) out of range: 1001 not in 0..=1000"
    );
    // the prover side reports the 36-item input index
    let mut inp = v1_inputs();
    inp[2] = 10_000; // utilization_offset == divisor
    match evaluate_public(&hash_of(&inp), &inp) {
        Err(Error::Input { index: 3, message }) => {
            assert!(message.contains("utilization_offset"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

// AIR SANITY
// ================================================================================================

/// Evaluates the relations directly on the last transition of a trace.
fn relations_on(pi: &[u64; PUBLIC_INPUT_LEN], w: &Witness) -> Vec<BaseElement> {
    let trace = build_trace(w);
    let row = |r: usize| {
        (0..TRACE_WIDTH)
            .map(|c| trace.get(c, r))
            .collect::<Vec<_>>()
    };
    let air = RiskAir::new(
        trace.info().clone(),
        PublicInputs { values: *pi },
        proof_options(),
    );
    let mut out = vec![BaseElement::ZERO; NUM_RELATIONS];
    air.relations(&row(LAST_STEP - 1), &row(LAST_STEP), &mut out);
    out
}

#[test]
fn honest_witness_satisfies_relations() {
    let mut rng = Rng(3);
    for inp in [v1_inputs(), v2_inputs()]
        .into_iter()
        .chain((0..500).map(|_| random_inputs(&mut rng)))
    {
        let pi = public(&inp);
        let rel = relations_on(&pi, &Witness::from_public(&pi));
        assert!(
            rel.iter().all(|r| *r == BaseElement::ZERO),
            "{inp:?}: {rel:?}"
        );
    }
}

#[test]
fn wrong_outputs_violate_relations() {
    let pi = public(&v1_inputs());
    for (i, delta) in [
        (PI_RISK_JEDI, 1),
        (PI_RISK_EKUBO, 1),
        (PI_PCT_JEDI, 1),
        (PI_PCT_EKUBO, 1),
        (PI_MASK, 1),
    ] {
        let mut bad = pi;
        bad[i] += delta;
        let w = Witness::from_public(&bad);
        let rel = relations_on(&bad, &w);
        let broken =
            w.first_out_of_range().is_some() || rel.iter().any(|r| *r != BaseElement::ZERO);
        assert!(
            broken,
            "changing public input {i} left every relation satisfied"
        );
    }
}

// PROVE / VERIFY
// ================================================================================================

#[test]
fn prove_verify_known_vectors() {
    for inp in [v1_inputs(), v2_inputs()] {
        let (proof, pi) = prove(&hash_of(&inp), &inp).unwrap();
        verify(&proof, &pi).unwrap();
        assert_eq!(security(&proof).unwrap(), options::default_security());
        assert!(proof.len() <= 64 * 1024, "proof is {} bytes", proof.len());
    }
}

#[test]
fn options_meet_security_target() {
    let security = options::default_security();
    assert!(security.proven_bits >= 128, "{security:?}");
    assert!(security.conjectured_bits >= 128, "{security:?}");
    let (proof, _) = prove(&hash_of(&v1_inputs()), &v1_inputs()).unwrap();
    assert_eq!(Security::of(&parse_proof(&proof).unwrap()), security);
    // defence in depth: at least one FRI layer, and a remainder with far fewer coefficients than
    // query positions, so it cannot be interpolated through them
    let options = proof_options();
    let fri = options.to_fri_options();
    assert!(fri.num_fri_layers(TRACE_LENGTH * options.blowup_factor()) >= 1);
    assert!(4 * (fri.remainder_max_degree() + 1) <= options.num_queries());
}

#[test]
fn prove_verify_random_and_edges() {
    let mut rng = Rng(11);
    let mut masks = 0u16;
    let mut clamp_lo = false;
    let mut clamp_hi = false;
    for _ in 0..60 {
        let inp = random_inputs(&mut rng);
        let (proof, pi) = prove(&hash_of(&inp), &inp).unwrap();
        verify(&proof, &pi).unwrap();
        masks |= 1 << pi[PI_MASK];
        clamp_lo |= pi[PI_RISK_JEDI] == inp[P_CLAMP_MIN];
        clamp_hi |= pi[PI_RISK_JEDI] == inp[P_CLAMP_MAX];
    }
    assert!(clamp_lo && clamp_hi);

    // explicit edges: all zeros, all maxima, age past cap, each violation bit
    let zeros = inputs(
        &[0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0],
        [0; 5],
        [0; 5],
        [1, 1],
        [0; 4],
    );
    let maxed = inputs(
        &[
            100_000, 1, 0, 100_000, 1, 0, 1000, 1000, 1000, 1000, 100_000, 1, 0, 36_500, 100_000,
            1, 0, 1000, 1000,
        ],
        [10_000, 10_000, 3, 0, 0],
        [10_000, 10_000, 3, 0, 0],
        [1_000_000, 1_000_000],
        [10_000, 2, 10_000, 3],
    );
    let big_div = inputs(
        &[
            100_000, 1_000_000, 999_999, 100_000, 1_000_000, 999_999, 1, 2, 3, 4, 100_000,
            1_000_000, 999_999, 36_500, 100_000, 1_000_000, 999_999, 0, 1000,
        ],
        [10_000, 10_000, 0, 0, 0],
        [0, 0, 1, 100, 36_500],
        [1, 1_000_000],
        [0, 0, 0, 0],
    );
    let age_past_cap = inputs(
        &V1,
        [6500, 3500, 1, 98, 5000],
        [5000, 2500, 2, 95, 1000],
        [850, 1210],
        [6000, 2, 10000, 3],
    );
    let bit0 = inputs(
        &V1,
        [6500, 3500, 1, 98, 800],
        [5000, 2500, 2, 95, 600],
        [850, 1210],
        [5000, 0, 10000, 3],
    );
    let bit1 = inputs(
        &V1,
        [6500, 3500, 1, 98, 800],
        [5000, 2500, 2, 95, 600],
        [1, 1_000_000],
        [10000, 2, 10000, 3],
    );
    let bit2 = inputs(
        &V1,
        [6500, 3500, 1, 98, 800],
        [5000, 2500, 2, 95, 600],
        [850, 1210],
        [10000, 0, 3000, 3],
    );
    let bit3 = inputs(
        &V1,
        [6500, 3500, 1, 98, 800],
        [5000, 2500, 2, 95, 600],
        [850, 1210],
        [10000, 0, 10000, 1],
    );
    let all_bits = inputs(
        &V1,
        [6500, 3500, 3, 98, 800],
        [5000, 2500, 2, 95, 600],
        [1, 1_000_000],
        [5000, 2, 0, 0],
    );
    let expected_masks = [(bit0, 1), (bit1, 2), (bit2, 4), (bit3, 8), (all_bits, 15)];
    for (inp, m) in expected_masks {
        assert_eq!(evaluate(&inp).mask, m, "{inp:?}");
    }
    for inp in [
        zeros,
        maxed,
        big_div,
        age_past_cap,
        bit0,
        bit1,
        bit2,
        bit3,
        all_bits,
    ] {
        let (proof, pi) = prove(&hash_of(&inp), &inp).unwrap();
        verify(&proof, &pi).unwrap();
        masks |= 1 << pi[PI_MASK];
    }
    for m in [0, 1, 2, 4, 8, 15] {
        assert!(masks & (1 << m) != 0, "mask {m} never proved");
    }
    // clamp both ends on the known vectors' parameters
    assert_eq!(evaluate(&maxed).risk, [1000, 1000]);
    assert_eq!(evaluate(&zeros).risk, [0, 0]);
}

// TAMPERING
// ================================================================================================

/// A different value for public input `i` that still passes the bound checks.
fn valid_variant(pi: &[u64; PUBLIC_INPUT_LEN], i: usize) -> [u64; PUBLIC_INPUT_LEN] {
    for cand in [pi[i].wrapping_add(1), pi[i].wrapping_sub(1), 0, 1, 2] {
        if cand == pi[i] {
            continue;
        }
        let mut v = *pi;
        v[i] = cand;
        if check_public_inputs(&v).is_ok() {
            return v;
        }
    }
    panic!("no valid variant for public input {i}");
}

#[test]
fn every_public_input_is_bound() {
    for inp in [v1_inputs(), v2_inputs()] {
        let pi = public(&inp);
        let proof = prove_bytes(&pi);
        verify(&proof, &pi).unwrap();
        for i in 0..PUBLIC_INPUT_LEN {
            let mut tampered = valid_variant(&pi, i);
            if i < PI_PARAMS {
                // a hash that names no model is refused before the STARK is looked at
                assert!(matches!(
                    verify(&proof, &tampered),
                    Err(Error::ModelHash(_))
                ));
                continue;
            }
            if i < PI_JEDI {
                // other parameters under their own, correct model hash: the STARK must refuse
                let limbs =
                    statement::model_hash_limbs(tampered[PI_PARAMS..PI_JEDI].try_into().unwrap());
                tampered[PI_HASH..PI_PARAMS].copy_from_slice(&limbs);
            }
            match verify(&proof, &tampered) {
                Err(Error::Verification(_)) => {}
                other => {
                    panic!("public input {i} changed: expected verification failure, got {other:?}")
                }
            }
        }
        // out-of-range values are refused before verification, with the index in the message
        let mut bad = pi;
        bad[PI_RISK_JEDI] = 5000;
        match verify(&proof, &bad) {
            Err(Error::PublicInput(m)) => assert!(
                m.starts_with("public input 39 (jediswap risk score) out of range"),
                "{m}"
            ),
            other => panic!("{other:?}"),
        }
        let mut bad = pi;
        bad[3] = 1 << 63;
        assert!(matches!(verify(&proof, &bad), Err(Error::PublicInput(_))));
        assert!(matches!(
            verify(&proof, &pi[..43]),
            Err(Error::PublicInput(_))
        ));
    }
}

#[test]
fn v1_proof_does_not_verify_with_v2_params() {
    let pi1 = public(&v1_inputs());
    let proof = prove_bytes(&pi1);
    let mut mixed = pi1;
    mixed[PI_PARAMS..PI_PARAMS + NUM_PARAMS].copy_from_slice(&V2);
    mixed[PI_HASH..PI_PARAMS].copy_from_slice(&statement::model_hash_limbs(&V2));
    assert!(check_public_inputs(&mixed).is_ok());
    assert!(matches!(
        verify(&proof, &mixed),
        Err(Error::Verification(_))
    ));
    // and not against the honest v2 vector either
    let pi2 = public(&v2_inputs());
    assert!(verify(&proof, &pi2).is_err());
}

#[test]
fn flipped_bytes_never_verify() {
    let pi = public(&v1_inputs());
    let proof = prove_bytes(&pi);
    let mut rng = Rng(5);
    let (mut deser, mut verif, mut bound) = (0, 0, 0);
    // every 13th byte and each of the last 512 (FRI remainder, proof-of-work nonce) once, with
    // a random bit, and every bit of the 64-byte header; `exhaustive_corruption` does them all
    let tail = proof.len() - 512;
    let flips = (0..proof.len())
        .filter(|&pos| pos % 13 == 0 || pos >= tail)
        .map(|pos| (pos, (rng.next() % 8) as u8))
        .collect::<Vec<_>>()
        .into_iter()
        .chain((0..64).flat_map(|pos| (0..8).map(move |bit| (pos, bit))));
    for (pos, bit) in flips {
        let mut bad = proof.clone();
        bad[pos] ^= 1 << bit;
        match verify(&bad, &pi) {
            Ok(_) => panic!("flipped bit {bit} of byte {pos} still verifies"),
            Err(Error::Deserialization(_)) => deser += 1,
            Err(Error::Verification(_) | Error::Options(_)) => verif += 1,
            Err(Error::RemainderBinding) => bound += 1,
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
    assert!(
        deser > 0 && verif > 0 && bound > 0,
        "{deser} {verif} {bound}"
    );
    // truncated and extended proofs
    assert!(verify(&proof[..proof.len() - 1], &pi).is_err());
    assert!(verify(&proof[..10], &pi).is_err());
    assert!(verify(&[], &pi).is_err());
    let mut longer = proof.clone();
    longer.push(0);
    assert!(verify(&longer, &pi).is_err());
}

fn options(
    queries: usize,
    blowup: usize,
    grinding: u32,
    ext: FieldExtension,
    rem: usize,
) -> ProofOptions {
    ProofOptions::new(
        queries,
        blowup,
        grinding,
        ext,
        8,
        rem,
        BatchingMethod::Linear,
        BatchingMethod::Linear,
    )
}

#[test]
fn only_our_option_set_is_accepted() {
    let pi = public(&v1_inputs());
    let cubic = FieldExtension::Cubic;
    for (other, what) in [
        (
            options(16, 16, 0, FieldExtension::Quadratic, 63),
            "16 queries",
        ),
        (
            options(64, 16, 0, FieldExtension::None, 63),
            "1-degree extension",
        ),
        (options(79, 8, 12, cubic, 7), "79 queries"),
        (options(80, 8, 11, cubic, 7), "grinding 11"),
        (options(80, 8, 12, cubic, 15), "degree 15"),
        // stronger is refused too: the verifier does not let the prover choose
        (options(96, 16, 16, cubic, 7), "96 queries"),
        (
            options::retired_v1_options(),
            "retired winterfell-0.13.1/obsqra-risk-air-v1",
        ),
    ] {
        let proof = prove_public_with_options(&pi, other).unwrap().to_bytes();
        match verify(&proof, &pi) {
            Err(Error::Options(m)) => assert!(m.contains(what), "{m}"),
            r => panic!("{what}: {r:?}"),
        }
    }
}

// CHEATING PROVERS
// ================================================================================================

/// v1 with jediswap's risk claimed as 45 (true: 44) and the downstream outputs recomputed from
/// the false score, so the only lie is the score itself.
fn lying_public() -> [u64; PUBLIC_INPUT_LEN] {
    let inp = v1_inputs();
    let mut pi = public(&inp);
    pi[PI_RISK_JEDI] = 45;
    let alloc_j = allocation(inp[29], 45);
    let alloc_e = allocation(inp[30], pi[PI_RISK_EKUBO]);
    pi[PI_PCT_JEDI] = alloc_j * BPS / (alloc_j + alloc_e);
    pi[PI_PCT_EKUBO] = BPS - pi[PI_PCT_JEDI];
    check_public_inputs(&pi).unwrap();
    pi
}

/// The cheat must be caught either by winterfell's debug trace validation (prover error) or,
/// in release builds where that check is off, by the verifier.
fn assert_cheat_fails(pi: &[u64; PUBLIC_INPUT_LEN], result: Result<winterfell::Proof, Error>) {
    match result {
        // debug builds: winterfell's trace validation refuses to prove (release builds skip it)
        Err(Error::Prover(_)) if cfg!(debug_assertions) => {}
        Err(e) => panic!("unexpected {e:?}"),
        Ok(proof) => {
            let r = verify(&proof.to_bytes(), pi);
            assert!(
                matches!(r, Err(Error::Verification(_))),
                "cheating proof: {r:?}"
            );
        }
    }
}

#[test]
fn cheat_wrong_risk_with_honest_witness() {
    let pi = lying_public();
    let w = Witness::from_public(&pi);
    assert_cheat_fails(&pi, prove_trace(&pi, &w, proof_options()));
}

#[test]
fn cheat_shifted_quotient_and_remainder() {
    // q_util + 1 and r_util - d: `r = n - q*d` still holds in the field and the sum is 45, but
    // r is negative. Written through its (truncated) bits the relation breaks.
    let pi = lying_public();
    let mut w = Witness::from_public(&pi);
    let d = V1[P_UTIL_D] as i128;
    w.cells[Q_UTIL].value += 1;
    w.cells[R_UTIL].value -= d;
    w.cells[S_UTIL].value += d;
    // the clamp slacks follow the new sum
    let c_lo = w.cells[CLAMP_LO];
    let c_hi = w.cells[CLAMP_HI];
    w.cells[CLAMP_LO].value = c_lo.value + 1;
    w.cells[CLAMP_HI].value = c_hi.value - 1;
    let rel = relations_on(&pi, &w);
    assert!(rel.iter().any(|r| *r != BaseElement::ZERO));
    assert_cheat_fails(&pi, prove_trace(&pi, &w, proof_options()));

    // same cheat, but the raw field value of r is forced into the last row (relations hold,
    // the bit decomposition does not)
    let mut trace = build_trace(&w);
    let r_field = to_field(w.cells[R_UTIL].value);
    trace.set(R_UTIL, LAST_STEP, r_field);
    let s_field = to_field(w.cells[S_UTIL].value);
    trace.set(S_UTIL, LAST_STEP, s_field);
    assert_cheat_fails(&pi, prove_table(&pi, trace, proof_options()));
}

#[test]
fn cheat_remainder_off_by_one() {
    // claim risk 45 by shifting a remainder: r_util - 1 keeps r in range but breaks n = q*d + r
    let pi = lying_public();
    let mut w = Witness::from_public(&pi);
    w.cells[R_UTIL].value -= 1;
    w.cells[S_UTIL].value += 1;
    w.cells[Q_UTIL].value += 1;
    assert_cheat_fails(&pi, prove_trace(&pi, &w, proof_options()));
}

#[test]
fn cheat_wrong_flags() {
    // flip the clamp flag / a mask comparison flag while keeping values honest
    let pi = public(&v1_inputs());
    for col in [CLAMP_LO, CLAMP_HI, AGE_CMP, MAXS_J, DIV_CNT, VOL_E, LIQ_J] {
        let mut w = Witness::from_public(&pi);
        w.cells[col].flag = !w.cells[col].flag;
        assert_cheat_fails(&pi, prove_trace(&pi, &w, proof_options()));
    }
    // a wrong mask with an honest witness
    let mut bad = pi;
    bad[PI_MASK] = 4;
    let w = Witness::from_public(&bad);
    assert_cheat_fails(&bad, prove_trace(&bad, &w, proof_options()));
}

#[test]
fn prover_rejects_inconsistent_outputs() {
    let pi = lying_public();
    assert!(matches!(
        prove_public_with_options(&pi, proof_options()),
        Err(Error::Prover(_))
    ));
    // honest prover path refuses out-of-bounds inputs with the field name
    let inp = v1_inputs();
    match prove(&hash_of(&v2_inputs()), &inp) {
        Err(Error::Input { index: 0, message }) => {
            assert!(
                message.contains("not Poseidon of the parameters"),
                "{message}"
            )
        }
        other => panic!("{other:?}"),
    }
    let mut inp = v1_inputs();
    inp[19 + M_LIQ] = 4;
    match prove(&hash_of(&inp), &inp) {
        Err(Error::Input { index, message }) => {
            assert_eq!(index, 22);
            assert!(message.contains("jediswap liquidity tier"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

/// Every bit of a proof, every truncation, and random splices. Slow in debug builds:
/// `cargo test --release -- --ignored`.
#[test]
#[ignore]
fn exhaustive_corruption() {
    let pi = public(&v2_inputs());
    let proof = prove_bytes(&pi);
    for pos in 0..proof.len() {
        for bit in 0..8 {
            let mut bad = proof.clone();
            bad[pos] ^= 1 << bit;
            assert!(verify(&bad, &pi).is_err(), "bit {bit} of byte {pos}");
        }
    }
    for len in 0..proof.len() {
        assert!(verify(&proof[..len], &pi).is_err(), "truncated to {len}");
    }
    let mut rng = Rng(99);
    for _ in 0..20_000 {
        let mut bad = proof.clone();
        for _ in 0..1 + rng.next() % 8 {
            let pos = (rng.next() % bad.len() as u64) as usize;
            bad[pos] = rng.next() as u8;
        }
        if bad != proof {
            assert!(verify(&bad, &pi).is_err());
        }
    }
}

// MODEL HASH
// ================================================================================================

#[test]
fn model_hash_is_starknet_poseidon() {
    use starknet_crypto::{poseidon_hash_many, Felt};
    // known answer from starknet-rs: xJonathanLEI/starknet-rs, starknet-crypto/src/poseidon_hash.rs,
    // test_poseidon_hash_many, commit 85906137d634c86b07de20fa33071e5cf186ce21 (data from cairo-lang)
    let felt = |h: &str| Felt::from_hex(h).unwrap();
    let input = [
        felt("0x9bf52404586087391c5fbb42538692e7ca2149bac13c145ae4230a51a6fc47"),
        felt("0x40304159ee9d2d611120fbd7c7fb8020cc8f7a599bfa108e0e085222b862c0"),
        felt("0x46286e4f3c450761d960d6a151a9c0988f9e16f8a48d4c0a85817c009f806a"),
    ];
    assert_eq!(
        poseidon_hash_many(&input),
        felt("0x1ec38b38dc88bac7b0ed6ff6326f975a06a59ac601b417745fd412a5d38e4f7")
    );
    // the published 1.0.0 model, as the registry names it (allocations.risk.model_hash)
    assert_eq!(
        statement::felt_hex(&limbs_to_hash(&statement::model_hash_limbs(&V1))),
        "0x034d036ab69e14df6bbe830592d40f4501f11b8b02c5c00c90c974078c76563b"
    );
}
