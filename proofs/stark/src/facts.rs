//! The facts a decision's Cairo statement is registered under, computed as the verifiers do
//! (the Rust twin of the Django app's `proofs/facts.py`, pinned by the same published vectors).
//!
//! * Integrity (Herodotus, Starknet), bootloaded route, what Atlantic registers for a Cairo PIE:
//!   `poseidon_hash_many([SHARP bootloader program hash, poseidon_hash_many([1, len(output) + 2,
//!   program_hash, *output])])` (Integrity `calculate_bootloaded_fact_hash`).
//! * SHARP on Ethereum: `keccak(program_hash || keccak(output))` over 32-byte big-endian words.
//! * The program hash that names a task: cairo-lang's Pedersen `compute_program_hash_chain`.

use sha3::{Digest, Keccak256};
use starknet_crypto::{pedersen_hash, poseidon_hash_many, Felt};

/// Integrity's `SHARP_BOOTLOADER_PROGRAM_HASH` (src/lib_utils.cairo): Atlantic proves PIEs under it.
pub const SHARP_BOOTLOADER_PROGRAM_HASH: &str =
    "0x005ab580b04e3532b6b18f81cfa654a05e29dd8e2352d88df1e765a84072db07";

pub fn sharp_bootloader_program_hash() -> Felt {
    Felt::from_hex(SHARP_BOOTLOADER_PROGRAM_HASH).expect("a constant felt")
}

/// What the simple bootloader outputs for one task: task count, size, program hash, output.
pub fn bootloader_output(task_program_hash: Felt, output: &[Felt]) -> Vec<Felt> {
    let mut words = vec![Felt::ONE, Felt::from(output.len() as u64 + 2), task_program_hash];
    words.extend_from_slice(output);
    words
}

/// Integrity's fact of a program proven directly (`calculate_fact_hash`).
pub fn direct_fact(program_hash: Felt, output: &[Felt]) -> Felt {
    poseidon_hash_many(&[program_hash, poseidon_hash_many(output)])
}

/// Integrity's fact of one task run under SHARP's simple bootloader (what Atlantic registers).
pub fn bootloaded_fact(task_program_hash: Felt, output: &[Felt]) -> Felt {
    direct_fact(
        sharp_bootloader_program_hash(),
        &bootloader_output(task_program_hash, output),
    )
}

/// SHARP's L1 fact of a program with a single output page: a 256-bit Ethereum word (not a
/// felt), as 0x and 64 lower-case hex digits.
pub fn sharp_fact(program_hash: Felt, output: &[Felt]) -> String {
    let words: Vec<u8> = output.iter().flat_map(|f| f.to_bytes_be()).collect();
    let mut hasher = Keccak256::new();
    hasher.update(program_hash.to_bytes_be());
    hasher.update(Keccak256::digest(&words));
    format!("0x{}", crate::hex_digits(&hasher.finalize()))
}

/// cairo-lang's `compute_hash_chain`: h(d[0], h(d[1], ... h(d[n-2], d[n-1]))).
fn pedersen_hash_chain(data: &[Felt]) -> Felt {
    let (last, rest) = data.split_last().expect("a hash chain needs one element");
    rest.iter().rev().fold(*last, |acc, x| pedersen_hash(x, &acc))
}

/// cairo-lang's `compute_program_hash_chain(program, PEDERSEN)` with bootloader version 0: the
/// program hash SHARP and Atlantic name a Cairo 0 task by.
pub fn program_hash_chain(main: u64, builtins: &[String], data: &[Felt]) -> Felt {
    let mut chain = vec![Felt::ZERO, Felt::from(main), Felt::from(builtins.len() as u64)];
    chain.extend(builtins.iter().map(|b| Felt::from_bytes_be_slice(b.as_bytes())));
    chain.extend_from_slice(data);
    let mut with_length = Vec::with_capacity(chain.len() + 1);
    with_length.push(Felt::from(chain.len() as u64));
    with_length.extend(chain);
    pedersen_hash_chain(&with_length)
}
