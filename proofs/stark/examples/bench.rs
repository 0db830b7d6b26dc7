//! Single-threaded timing of one decision: `cargo run --release --example bench [-- --grid]`.
//!
//! Reports median / p95 / max prove and verify times over the v1 and v2 vectors, and the proof
//! size. `--grid` compares candidate proof options (all >= 96 bits conjectured security).

use std::time::{Duration, Instant};

use _stark::{
    evaluate_public, options_security_bits, proof_options, prove, prove_public_with_options, verify,
};
use winterfell::{BatchingMethod, FieldExtension, ProofOptions};

const V1: [u64; 35] = [
    35, 10000, 0, 30, 10000, 0, 15, 10, 5, 0, 1, 5, 0, 1000, 1, 100, 99, 5, 95, 6500, 3500, 1, 98,
    800, 5000, 2500, 2, 95, 600, 850, 1210, 6000, 2, 10000, 3,
];
const V2: [u64; 35] = [
    25, 10000, 0, 40, 10000, 0, 0, 5, 15, 30, 3, 10, 0, 730, 10, 730, 0, 5, 95, 500, 2000, 2, 85,
    365, 500, 2000, 2, 85, 365, 850, 1210, 6000, 2, 10000, 3,
];
const HASH: [u64; 4] = [1, 2, 3, 4];

fn stats(mut v: Vec<Duration>) -> String {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    format!(
        "median {:.2} ms, p95 {:.2} ms, max {:.2} ms",
        ms(v[v.len() / 2]),
        ms(v[v.len() * 95 / 100]),
        ms(v[v.len() - 1])
    )
}

fn run(options: ProofOptions, iters: usize) -> (Vec<Duration>, Vec<Duration>, usize) {
    let (mut p, mut v, mut size) = (vec![], vec![], 0);
    for i in 0..iters {
        let inputs = if i % 2 == 0 { &V1 } else { &V2 };
        let pi = evaluate_public(&HASH, inputs).unwrap();
        let t = Instant::now();
        let proof = prove_public_with_options(&pi, options.clone())
            .unwrap()
            .to_bytes();
        p.push(t.elapsed());
        let t = Instant::now();
        verify(&proof, &pi).unwrap();
        v.push(t.elapsed());
        size = size.max(proof.len());
    }
    (p, v, size)
}

fn main() {
    if std::env::args().any(|a| a == "--grid") {
        let mut grid = vec![];
        for (q, b, g, rem) in [
            (32, 8, 8, 63),
            (32, 8, 4, 63),
            (28, 8, 16, 63),
            (24, 16, 8, 63),
            (22, 16, 9, 63),
            (25, 16, 0, 63),
            (20, 32, 8, 63),
            (19, 32, 8, 63),
            (18, 32, 7, 63),
            (16, 64, 8, 63),
            (24, 16, 8, 7),
            (24, 16, 8, 31),
            (17, 64, 0, 63),
        ] {
            grid.push(ProofOptions::new(
                q,
                b,
                g,
                FieldExtension::Quadratic,
                8,
                rem,
                BatchingMethod::Linear,
                BatchingMethod::Linear,
            ));
        }
        for o in grid {
            let (p, v, size) = run(o.clone(), 100);
            println!(
                "q={:>2} blowup={:>2} grind={:>2} rem={:>2} bits={:>3} size={:>6} B | prove {} | verify {}",
                o.num_queries(), o.blowup_factor(), o.grinding_factor(),
                o.to_fri_options().remainder_max_degree(), options_security_bits(&o), size,
                stats(p), stats(v)
            );
        }
        return;
    }

    // warm-up, then the public API end to end (evaluate + prove + serialize, verify)
    let (proof, pi) = prove(&HASH, &V1).unwrap();
    verify(&proof, &pi).unwrap();
    let (p, v, size) = run(proof_options(), 400);
    println!("options: {:?}", proof_options());
    println!(
        "conjectured security: {} bits",
        options_security_bits(&proof_options())
    );
    let proven = _stark::parse_proof(&proof)
        .unwrap()
        .proven_security::<_stark::prover::Hasher>();
    println!(
        "proven security (reference only): list-decoding {} bits, unique-decoding {} bits",
        proven.ldr_bits(),
        proven.udr_bits()
    );
    println!("proof size: {size} bytes");
    println!("prove:  {}", stats(p));
    println!("verify: {}", stats(v));
}
