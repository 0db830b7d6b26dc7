//! Single-threaded timing of one decision: `cargo run --release --example bench [-- --grid]`.
//!
//! Prints prove and verify medians, proof size, conjectured and proven bits for our option set
//! beside the retired v1 one (verified as v1 was: winterfell alone, >= 96 conjectured bits).
//! `--grid` compares candidate option sets (all 128 bits proven or close).

use std::time::{Duration, Instant};

use _stark::{
    air::{PublicInputs, RiskAir},
    evaluate_public,
    options::{proof_options, retired_v1_options, Security},
    parse_proof, prove_public_with_options,
    prover::{Hasher, RandomCoin, VectorCommitment},
    statement::model_hash_limbs,
    verify,
};
use winterfell::{AcceptableOptions, BatchingMethod, FieldExtension, ProofOptions};

const V1: [u64; 35] = [
    35, 10000, 0, 30, 10000, 0, 15, 10, 5, 0, 1, 5, 0, 1000, 1, 100, 99, 5, 95, 6500, 3500, 1, 98,
    800, 5000, 2500, 2, 95, 600, 850, 1210, 6000, 2, 10000, 3,
];
const V2: [u64; 35] = [
    25, 10000, 0, 40, 10000, 0, 0, 5, 15, 30, 3, 10, 0, 730, 10, 730, 0, 5, 95, 500, 2000, 2, 85,
    365, 500, 2000, 2, 85, 365, 850, 1210, 6000, 2, 10000, 3,
];

fn median_ms(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1e3
}

struct Figures {
    prove_ms: f64,
    verify_ms: f64,
    size: usize,
    security: Security,
}

/// `ours`: verify with the full checks of this crate; otherwise winterfell alone, as v1 did.
fn run(options: &ProofOptions, iters: usize, ours: bool) -> Figures {
    let (mut p, mut v, mut size, mut security) = (vec![], vec![], 0, None);
    for i in 0..iters {
        let inputs = if i % 2 == 0 { &V1 } else { &V2 };
        let pi =
            evaluate_public(&model_hash_limbs(inputs[..19].try_into().unwrap()), inputs).unwrap();
        let t = Instant::now();
        let proof = prove_public_with_options(&pi, options.clone())
            .unwrap()
            .to_bytes();
        p.push(t.elapsed());
        let t = Instant::now();
        if ours {
            verify(&proof, &pi).unwrap();
        } else {
            winterfell::verify::<RiskAir, Hasher, RandomCoin, VectorCommitment>(
                parse_proof(&proof).unwrap(),
                PublicInputs { values: pi },
                &AcceptableOptions::MinConjecturedSecurity(96),
            )
            .unwrap();
        }
        v.push(t.elapsed());
        size = size.max(proof.len());
        security = Some(Security::of(&parse_proof(&proof).unwrap()));
    }
    Figures {
        prove_ms: median_ms(p),
        verify_ms: median_ms(v),
        size,
        security: security.unwrap(),
    }
}

fn row(name: &str, options: &ProofOptions, f: &Figures) {
    let fri = options.to_fri_options();
    println!(
        "{name:<14} | q={:>2} blowup={:>2} grind={:>2} ext={} fold={} rem={:>2} layers={} | {:>7.2} ms | {:>6.2} ms | {:>6} B | {:>3} | {:>3}",
        options.num_queries(),
        options.blowup_factor(),
        options.grinding_factor(),
        options.field_extension().degree(),
        fri.folding_factor(),
        fri.remainder_max_degree(),
        fri.num_fri_layers(64 * options.blowup_factor()),
        f.prove_ms,
        f.verify_ms,
        f.size,
        f.security.conjectured_bits,
        f.security.proven_bits,
    );
}

fn header() {
    println!(
        "{:<14} | {:<52} | {:>10} | {:>9} | {:>8} | {:>3} | {:>3}",
        "options", "", "prove", "verify", "size", "cnj", "prv"
    );
}

fn main() {
    header();
    if std::env::args().any(|a| a == "--grid") {
        for (q, b, g, fold, rem) in [
            (80, 8, 12, 8, 7),
            (84, 8, 12, 8, 7),
            (76, 8, 16, 8, 7),
            (60, 16, 12, 8, 7),
            (56, 16, 16, 8, 7),
            (48, 32, 12, 8, 7),
            (80, 8, 12, 4, 15),
            (80, 8, 12, 2, 7),
        ] {
            let o = ProofOptions::new(
                q,
                b,
                g,
                FieldExtension::Cubic,
                fold,
                rem,
                BatchingMethod::Linear,
                BatchingMethod::Linear,
            );
            row("candidate", &o, &run(&o, 40, false));
        }
        return;
    }
    // warm-up
    run(&proof_options(), 4, true);
    row(
        "v1 (retired)",
        &retired_v1_options(),
        &run(&retired_v1_options(), 200, false),
    );
    row(
        "v2 (ours)",
        &proof_options(),
        &run(&proof_options(), 200, true),
    );
}
