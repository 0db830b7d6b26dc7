//! `obsqra-verify` as an auditor runs it: a file on disk, a verdict and an exit code.

use std::path::PathBuf;
use std::process::{Command, Output};

use _stark::model::NUM_PARAMS;
use _stark::options::proof_options;
use _stark::proof_file::{encode, proof_hash};
use _stark::statement::model_hash_limbs;
use _stark::{evaluate_public, prove_public_with_options};

const V1: [u64; 35] = [
    35, 10000, 0, 30, 10000, 0, 15, 10, 5, 0, 1, 5, 0, 1000, 1, 100, 99, 5, 95, 6500, 3500, 1, 98,
    800, 5000, 2500, 2, 95, 600, 850, 1210, 6000, 2, 10000, 3,
];

fn proof_file() -> Vec<u8> {
    let params: &[u64; NUM_PARAMS] = V1[..NUM_PARAMS].try_into().unwrap();
    let pi = evaluate_public(&model_hash_limbs(params), &V1).unwrap();
    let proof = prove_public_with_options(&pi, proof_options())
        .unwrap()
        .to_bytes();
    encode(&pi, &proof).unwrap()
}

fn write(name: &str, data: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("obsqra-verify-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, data).unwrap();
    path
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_obsqra-verify"))
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_genuine_file_is_valid() {
    let file = proof_file();
    let path = write("genuine.proof.json", &file);
    let out = run(&[path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with(&format!("VALID proof {}", proof_hash(&file))),
        "{stdout}"
    );
    assert!(stdout.contains("128 bits proven"), "{stdout}");
    assert!(stdout.contains("jediswap 44, ekubo 34"), "{stdout}");
    assert!(
        stdout.contains("rejected; broken rules: max_single"),
        "{stdout}"
    );

    let out = run(&["--json", path.to_str().unwrap()]);
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["valid"], true);
    assert_eq!(answer["statement"]["ekubo_score"], 34);
    assert_eq!(answer["violated_rules"], serde_json::json!(["max_single"]));
}

#[test]
fn a_tampered_file_is_invalid_with_the_reason() {
    let file = String::from_utf8(proof_file()).unwrap();
    let tampered = file.replacen(r#""ekubo_score":34"#, r#""ekubo_score":33"#, 1);
    assert_ne!(tampered, file);
    let path = write("tampered.proof.json", tampered.as_bytes());
    let out = run(&[path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("INVALID: the proof does not match the claimed statement")
    );
    let out = run(&["--json", path.to_str().unwrap()]);
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["valid"], false);
    assert!(answer["reason"]
        .as_str()
        .unwrap()
        .contains("does not match the claimed statement"));
}

#[test]
fn usage_and_unreadable_files_exit_2() {
    assert_eq!(run(&[]).status.code(), Some(2));
    let out = run(&["/nonexistent/decision.proof.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).starts_with("cannot read /nonexistent/decision.proof.json"));
}
