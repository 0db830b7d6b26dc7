//! The proof file: one canonical byte string per proof, every other spelling refused with a
//! reason.

use base64::{engine::general_purpose::STANDARD, Engine};

use crate::model::*;
use crate::options::retired_v1_options;
use crate::proof_file::{self, encode, proof_hash, verify_file};
use crate::*;

use super::{public, v1_inputs, Rng};

fn honest_file() -> (Vec<u8>, [u64; PUBLIC_INPUT_LEN]) {
    let pi = public(&v1_inputs());
    let proof = prove_public_with_options(&pi, options::proof_options())
        .unwrap()
        .to_bytes();
    (encode(&pi, &proof).unwrap(), pi)
}

fn text(file: &[u8]) -> String {
    String::from_utf8(file.to_vec()).unwrap()
}

fn refused(file: &[u8]) -> String {
    match verify_file(file) {
        Err(e) => e.to_string(),
        Ok(_) => panic!(
            "accepted: {}",
            text(file).chars().take(300).collect::<String>()
        ),
    }
}

#[test]
fn honest_file_verifies_and_names_its_hash() {
    let (file, pi) = honest_file();
    let verified = verify_file(&file).unwrap();
    assert_eq!(verified.public_inputs, pi);
    assert_eq!(verified.prover, PROVER_NAME);
    assert_eq!(verified.security, options::default_security());
    assert_eq!(verified.proof_hash, proof_hash(&file));
    assert_eq!(verified.statement.jediswap_score, 44);
    // canonical form: sorted keys, no whitespace
    let t = text(&file);
    assert!(
        t.starts_with(r#"{"format":"obsqra-stark-proof","proof":""#),
        "{}",
        &t[..60]
    );
    assert!(
        t.ends_with(r#""violations":1},"version":2}"#),
        "{}",
        &t[t.len() - 60..]
    );
    assert!(!t.contains(' ') && !t.contains('\n'));
}

#[test]
fn sha256_matches_a_published_vector() {
    // FIPS 180-2 appendix B.1: SHA-256("abc")
    assert_eq!(
        proof_hash(b"abc"),
        "0xba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn any_other_spelling_is_refused() {
    let (file, _) = honest_file();
    let t = text(&file);

    let mut bom = b"\xef\xbb\xbf".to_vec();
    bom.extend(&file);
    assert!(refused(&bom).contains("byte-order mark"));

    let value: serde_json::Value = serde_json::from_slice(&file).unwrap();
    let pretty = serde_json::to_vec_pretty(&value).unwrap();
    assert!(refused(&pretty).contains("not in canonical form"));
    let mut trailing = file.clone();
    trailing.push(b'\n');
    assert!(refused(&trailing).contains("not in canonical form"));

    // keys in another order
    let reordered = t
        .replacen(r#""format":"obsqra-stark-proof","#, "", 1)
        .replacen(
            r#""version":2}"#,
            r#""version":2,"format":"obsqra-stark-proof"}"#,
            1,
        );
    assert!(refused(reordered.as_bytes()).contains("not in canonical form"));
}

#[test]
fn duplicate_keys_are_refused() {
    let (file, _) = honest_file();
    let t = text(&file);
    // a second statement after the first: a reader keeping either one must not be fooled
    let start = t.find(r#""statement":"#).unwrap();
    let end = t.find(r#","version""#).unwrap();
    let statement = &t[start..end];
    let other = statement.replacen(r#""jediswap_score":44"#, r#""jediswap_score":45"#, 1);
    let doubled = t.replacen(statement, &format!("{statement},{other}"), 1);
    assert!(refused(doubled.as_bytes()).contains("duplicate field `statement`"));
    let doubled_field = t.replacen(r#""violations":1"#, r#""violations":1,"violations":0"#, 1);
    assert!(refused(doubled_field.as_bytes()).contains("duplicate field `violations`"));
    let doubled_version = t.replacen(r#""version":2"#, r#""version":2,"version":2"#, 1);
    assert!(refused(doubled_version.as_bytes()).contains("duplicate field `version`"));
}

#[test]
fn non_canonical_base64_is_refused() {
    let (file, _) = honest_file();
    let t = text(&file);
    let start = t.find(r#""proof":""#).unwrap() + 9;
    let end = start + t[start..].find('"').unwrap();
    let b64 = &t[start..end];
    let proof = STANDARD.decode(b64).unwrap();
    // MIME-style line breaks and the URL-safe alphabet decode elsewhere, not here
    let wrapped = format!("{}\\n{}", &b64[..76], &b64[76..]);
    assert!(refused(t.replacen(b64, &wrapped, 1).as_bytes()).contains("not base64"));
    let url_safe = base64::engine::general_purpose::URL_SAFE.encode(&proof);
    assert_ne!(url_safe, b64);
    assert!(refused(t.replacen(b64, &url_safe, 1).as_bytes()).contains("not base64"));
    // a second spelling of the same bytes: unused trailing bits set, or no padding
    assert_eq!(proof_file::decode_base64("QQ==").unwrap(), b"A");
    assert!(proof_file::decode_base64("QR==").is_err());
    assert!(proof_file::decode_base64("QQ").is_err());
}

#[test]
fn malformed_documents_are_refused_with_the_field() {
    let (file, _) = honest_file();
    let t = text(&file);
    let cases = [
        (
            t.replacen(r#""version":2}"#, r#""version":2,"extra":1}"#, 1),
            "unknown field `extra`",
        ),
        (
            t.replacen(r#","violations":1"#, "", 1),
            "missing field `violations`",
        ),
        (
            t.replacen(r#""violations":1"#, r#""violations":"1""#, 1),
            "invalid type",
        ),
        (
            t.replacen(r#""violations":1"#, r#""violations":-1"#, 1),
            "invalid value",
        ),
        (
            t.replacen(
                r#""violations":1"#,
                &format!(r#""violations":{}"#, "9".repeat(10_000)),
                1,
            ),
            "out of range",
        ),
        (
            t.replacen(r#""format":"obsqra-stark-proof""#, r#""format":"other""#, 1),
            "not a proof file",
        ),
        ("[".repeat(100_000), "not a proof file"),
        ("\"x\"".to_string(), "not a proof file"),
        (String::new(), "not a proof file"),
    ];
    for (bad, reason) in cases {
        let m = refused(bad.as_bytes());
        assert!(m.contains(reason), "{reason}: {m}");
    }
    assert!(refused(&vec![b' '; proof_file::MAX_FILE_BYTES + 1]).contains("at most"));
}

#[test]
fn claimed_security_must_be_the_proofs() {
    let (file, _) = honest_file();
    let t = text(&file);
    let proven = options::default_security().proven_bits;
    let lie = t.replacen(
        &format!(r#""proven_bits":{proven}"#),
        r#""proven_bits":256"#,
        1,
    );
    assert!(refused(lie.as_bytes()).contains("claims"));
}

#[test]
fn other_provers_and_versions_are_refused() {
    let (file, _) = honest_file();
    let t = text(&file);
    let v1_name = BROKEN_PROVER_NAMES[0];
    let relabelled = t.replacen(PROVER_NAME, v1_name, 1);
    assert!(refused(relabelled.as_bytes()).contains("accepted forged proofs"));
    let other = t.replacen(PROVER_NAME, "winterfell-0.13.1/obsqra-risk-air-v3", 1);
    assert!(refused(other.as_bytes())
        .contains("checks winterfell-0.13.1/obsqra-risk-air-v2 proofs only"));
    let v3 = t.replacen(r#""version":2}"#, r#""version":3}"#, 1);
    assert!(refused(v3.as_bytes()).contains("unsupported proof file version 3"));
}

#[test]
fn v1_era_file_is_refused() {
    // what the v1 service published: format version 1, the v1 prover, a v1-options proof
    let pi = public(&v1_inputs());
    let proof = prove_public_with_options(&pi, retired_v1_options())
        .unwrap()
        .to_bytes();
    let statement = serde_json::to_string(&statement::Statement::from_vector(&pi)).unwrap();
    let v1 = format!(
        r#"{{"format":"obsqra-stark-proof","proof":"{}","prover":"{}","statement":{statement},"version":1}}"#,
        STANDARD.encode(&proof),
        BROKEN_PROVER_NAMES[0],
    );
    let m = refused(v1.as_bytes());
    assert!(m.contains("whose verifier accepted forged proofs"), "{m}");
    // the same proof relabelled as v2 is refused for its options
    let v2_labelled = encode(&pi, &proof).unwrap();
    let m = refused(&v2_labelled);
    assert!(
        m.contains("retired winterfell-0.13.1/obsqra-risk-air-v1 options"),
        "{m}"
    );
}

#[test]
fn tampered_statements_are_refused() {
    let (file, _) = honest_file();
    let t = text(&file);
    let score = t.replacen(r#""jediswap_score":44"#, r#""jediswap_score":45"#, 1);
    assert!(refused(score.as_bytes()).starts_with("the proof does not match the claimed statement"));
    let model = t.replacen(r#""clamp_max":95"#, r#""clamp_max":96"#, 1);
    assert!(refused(model.as_bytes()).starts_with("the model hash does not name these parameters"));
    let mut rng = Rng(3);
    for _ in 0..20 {
        let mut bad = file.clone();
        let pos = (rng.next() % bad.len() as u64) as usize;
        bad[pos] ^= 1 << (rng.next() % 7);
        assert!(verify_file(&bad).is_err(), "byte {pos}");
    }
}
