//! The Rust facts against the vectors the verifiers' owners publish (the same ones
//! tests/test_facts.py pins the Django app's proofs/facts.py to).
//!
//! HerodotusDev/atlantic-examples 4867acacf16474f6679e0b46de59f85c3fa77f69:
//! l2-verification-contract/src/lib.cairo (test_get_cairo0_fact_hash) and
//! l1-verification-contract/test/FibonacciRegistry.t.sol (test_factHashCairo0): the Fibonacci
//! program `0x4079…825b` with output [10, 55]. HerodotusDev/integrity
//! 4ce9504fdc933171251cf7473b75ab67db5e03b6 src/lib_utils.cairo: SHARP_BOOTLOADER_PROGRAM_HASH.

use starknet_crypto::Felt;

use crate::facts::*;

fn felt(hex: &str) -> Felt {
    Felt::from_hex(hex).unwrap()
}

const FIB_PROGRAM_HASH: &str = "0x407908712e70dd914b006062d8d70bd8aeae06bcfc973cbd4309e7f3a2e825b";

fn fib_output() -> Vec<Felt> {
    vec![Felt::from(10u64), Felt::from(55u64)]
}

#[test]
fn bootloader_is_integritys_sharp_bootloader() {
    assert_eq!(
        sharp_bootloader_program_hash(),
        felt("0x5ab580b04e3532b6b18f81cfa654a05e29dd8e2352d88df1e765a84072db07")
    );
}

#[test]
fn atlantic_examples_cairo0_integrity_fact() {
    assert_eq!(
        bootloaded_fact(felt(FIB_PROGRAM_HASH), &fib_output()),
        felt("0x1c446d13efc5a3a16387eeec2c9347e9fd44e195b178916e1bd27c0a18220f1")
    );
}

#[test]
fn atlantic_examples_cairo0_sharp_l1_fact() {
    // 256 bits, above the field: an Ethereum word, never reduced to a felt
    assert_eq!(
        sharp_fact(felt(FIB_PROGRAM_HASH), &fib_output()),
        "0xfabc599614bbd9752bd58d365c7434f7f61792a6fc2ffbd3a0256636915c2c58"
    );
}

#[test]
fn a_fact_for_other_outputs_differs() {
    let other = vec![Felt::from(10u64), Felt::from(56u64)];
    assert_ne!(
        bootloaded_fact(felt(FIB_PROGRAM_HASH), &other),
        bootloaded_fact(felt(FIB_PROGRAM_HASH), &fib_output())
    );
}
