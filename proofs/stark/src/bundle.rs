//! The decision bundle: everything an auditor needs to re-check one decision, in one zip.
//!
//! `obsqra-decision-<id>-<hash12>.bundle.zip` (hash12: the first 12 hex digits of the SHA-256 of
//! the zip, the bundle hash shown on the decision's pages) holds exactly these files:
//!
//! * `manifest.json`: the decision (id, time, metrics snapshots with their block numbers, APYs,
//!   results), the model version (label, family, hash, parameters), the policy (name, terms),
//!   the STARK proof's hash, prover and security, the Cairo side (program hash, layout, steps,
//!   the expected Integrity and SHARP facts), what the chain must hold (fact registries,
//!   accepted verifier configurations, minimum security bits), the versions of what made it,
//!   and the SHA-256 of every other file;
//! * `proof.json`: the proof file, byte for byte the one published ([crate::proof_file]);
//! * `statement.json`: the statement it proves, readable;
//! * `cairo-pie.zip`: the Cairo PIE of the same statement ([crate::cairo_pie]);
//! * `README.md`: the commands that re-check each part by hand.
//!
//! [verify_bundle] checks every part and that the parts agree; a refusal names the part.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use starknet_crypto::Felt;

use crate::cairo_pie::{self, Pie};
use crate::facts;
use crate::model::violated_rules;
use crate::proof_file::{self, VerifiedFile};
use crate::zipped;
use crate::statement::{Apys, Metrics, Parameters, Policy, Statement, FAMILY_ID};
use crate::Error;

pub const FORMAT: &str = "obsqra-decision-bundle";
pub const FORMAT_VERSION: u64 = 1;
pub const MEDIA_TYPE: &str = "application/vnd.obsqra.bundle+zip";
/// A bundle is ~100 KB; the bound keeps a reader that loads it whole safe.
pub const MAX_BUNDLE_BYTES: usize = 4 << 20;
/// Every zip (a bundle, a Cairo PIE) starts with a local file header.
pub const ZIP_MAGIC: &[u8] = b"PK\x03\x04";

pub const MANIFEST: &str = "manifest.json";
pub const PROOF: &str = "proof.json";
pub const STATEMENT: &str = "statement.json";
pub const CAIRO_PIE: &str = "cairo-pie.zip";
pub const README: &str = "README.md";
const FILES: [&str; 5] = [MANIFEST, README, PROOF, STATEMENT, CAIRO_PIE];

/// The Pedersen program hash of `proofs/cairo/risk_decision.cairo` compiled by cairo-lang
/// 0.14.0.1: the only program whose PIE is the Cairo side of our decisions. The Django app's
/// tests compare it with the program they compile.
pub const CAIRO_PROGRAM_HASH: &str =
    "0x0018fbd3fce707b6ef916a74aace33d8d7d00dd5cb74bd9d9608debc5cb24403";
/// The Cairo layout our statement is proven under (Atlantic's `layout`, Integrity's verifier).
pub const CAIRO_LAYOUT: &str = "recursive_with_poseidon";

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    pub source: String,
    pub block_number: Option<u64>,
    pub block_timestamp: Option<String>,
    pub captured_at: String,
    pub metrics: Metrics,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    pub id: u64,
    pub created_at: String,
    pub jediswap_snapshot: Snapshot,
    pub ekubo_snapshot: Snapshot,
    pub apys: Apys,
    pub jediswap_score: u64,
    pub ekubo_score: u64,
    pub jediswap_pct: u64,
    pub ekubo_pct: u64,
    pub violations: u64,
    pub violated_rules: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ModelVersion {
    pub label: String,
    pub family: String,
    pub model_hash: String,
    pub parameters: Parameters,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PolicyRecord {
    pub name: String,
    pub terms: Policy,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Stark {
    pub proof_job: String,
    pub proof_hash: String,
    pub prover: String,
    pub proven_bits: u32,
    pub conjectured_bits: u32,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Cairo {
    pub program_hash: String,
    pub layout: String,
    pub steps: u64,
    pub bootloader_program_hash: String,
    pub integrity_fact: String,
    pub sharp_fact: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct OnChain {
    pub network: String,
    pub integrity_fact_registry: String,
    pub verifier_configs: Vec<String>,
    pub min_security_bits: u32,
    pub sharp_fact_registry: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Software {
    pub prover: String,
    pub obsqra_stark: String,
    pub winterfell: String,
    pub cairo_lang: String,
    pub git_commit: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    pub version: u64,
    pub decision: Decision,
    pub model_version: ModelVersion,
    pub policy: PolicyRecord,
    pub stark: Stark,
    pub cairo: Cairo,
    pub on_chain: OnChain,
    pub software: Software,
    /// SHA-256 (64 hex digits) of every file but the manifest.
    pub files: BTreeMap<String, String>,
}

/// A bundle whose every part checked out and agrees with the others.
#[derive(Clone, Debug)]
pub struct VerifiedBundle {
    /// 0x + SHA-256 of the bundle's bytes.
    pub bundle_hash: String,
    pub manifest: Manifest,
    pub proof: VerifiedFile,
    pub pie: Pie,
}

fn refuse(part: &str, reason: impl Into<String>) -> Error {
    Error::Bundle {
        part: part.to_string(),
        reason: reason.into(),
    }
}

fn sha256_hex(data: &[u8]) -> String {
    crate::hex_digits(&Sha256::digest(data))
}

fn read_files(data: &[u8]) -> Result<HashMap<&'static str, Vec<u8>>, Error> {
    if data.len() > MAX_BUNDLE_BYTES {
        return Err(refuse("bundle", format!(
            "the file has {} bytes; bundles are at most {MAX_BUNDLE_BYTES}", data.len()
        )));
    }
    let allowed = FILES.map(|name| (name, MAX_BUNDLE_BYTES as u64));
    let methods = [zip::CompressionMethod::Stored, zip::CompressionMethod::Deflated];
    let files = zipped::read_files(data, "a bundle", &allowed, &methods)
        .map_err(|refusal| refuse(refusal.file.as_deref().unwrap_or("bundle"), refusal.reason))?;
    if let Some(missing) = FILES.iter().find(|n| !files.contains_key(*n)) {
        return Err(refuse(missing, "missing from the bundle"));
    }
    Ok(files)
}

fn check_file_hashes(
    manifest: &Manifest,
    files: &HashMap<&'static str, Vec<u8>>,
) -> Result<(), Error> {
    let listed: Vec<&str> = manifest.files.keys().map(String::as_str).collect();
    let mut expected: Vec<&str> = FILES[1..].to_vec();
    expected.sort();
    if listed != expected {
        return Err(refuse(
            MANIFEST,
            format!("files must list exactly {}", expected.join(", ")),
        ));
    }
    for (name, digest) in &manifest.files {
        let actual = sha256_hex(&files[name.as_str()]);
        if *digest != actual {
            return Err(refuse(
                name,
                format!("its SHA-256 is {actual}, the manifest says {digest}: the file was changed"),
            ));
        }
    }
    Ok(())
}

fn mismatch(part: &str, what: &str, claimed: impl std::fmt::Debug, proven: impl std::fmt::Debug) -> Error {
    refuse(
        part,
        format!("{what} is {claimed:?}, but the proof proves {proven:?}"),
    )
}

fn check_statement_file(data: &[u8], proven: &Statement) -> Result<(), Error> {
    let statement: Statement = serde_json::from_slice(data)
        .map_err(|e| refuse(STATEMENT, format!("not a statement: {e}")))?;
    if statement != *proven {
        return Err(refuse(
            STATEMENT,
            "it differs from the statement the proof proves",
        ));
    }
    Ok(())
}

fn check_decision(m: &Manifest, s: &Statement) -> Result<(), Error> {
    let part = "manifest decision";
    let d = &m.decision;
    let pairs = [
        ("the jediswap score", d.jediswap_score, s.jediswap_score),
        ("the ekubo score", d.ekubo_score, s.ekubo_score),
        ("the jediswap share", d.jediswap_pct, s.jediswap_pct),
        ("the ekubo share", d.ekubo_pct, s.ekubo_pct),
        ("the violations bitmask", d.violations, s.violations),
    ];
    for (what, claimed, proven) in pairs {
        if claimed != proven {
            return Err(mismatch(part, what, claimed, proven));
        }
    }
    let broken = violated_rules(s.violations);
    if !d.violated_rules.iter().map(String::as_str).eq(broken.iter().copied()) {
        return Err(mismatch(part, "the list of broken rules", &d.violated_rules, broken));
    }
    if d.jediswap_snapshot.metrics != s.jediswap_metrics {
        return Err(mismatch(part, "the jediswap snapshot", &d.jediswap_snapshot.metrics, &s.jediswap_metrics));
    }
    if d.ekubo_snapshot.metrics != s.ekubo_metrics {
        return Err(mismatch(part, "the ekubo snapshot", &d.ekubo_snapshot.metrics, &s.ekubo_metrics));
    }
    if d.apys != s.apys {
        return Err(mismatch(part, "the APYs", &d.apys, &s.apys));
    }
    Ok(())
}

fn check_model_and_policy(m: &Manifest, s: &Statement) -> Result<(), Error> {
    let model = &m.model_version;
    if model.family != FAMILY_ID {
        return Err(refuse("manifest model_version", format!("the family is {:?}, not {FAMILY_ID}", model.family)));
    }
    if model.parameters != s.parameters {
        return Err(mismatch("manifest model_version", "the parameters", &model.parameters, &s.parameters));
    }
    if model.model_hash != s.model_hash {
        return Err(mismatch("manifest model_version", "the model hash", &model.model_hash, &s.model_hash));
    }
    if m.policy.terms != s.policy {
        return Err(mismatch("manifest policy", "the policy terms", &m.policy.terms, &s.policy));
    }
    Ok(())
}

fn check_stark(m: &Manifest, proof: &VerifiedFile) -> Result<(), Error> {
    let part = "manifest stark";
    let st = &m.stark;
    if st.proof_hash != proof.proof_hash {
        return Err(refuse(part, format!("the proof hash is {}, proof.json's is {}", st.proof_hash, proof.proof_hash)));
    }
    if st.prover != proof.prover || m.software.prover != proof.prover {
        return Err(refuse(part, format!("the prover is not proof.json's ({})", proof.prover)));
    }
    let security = (proof.security.proven_bits, proof.security.conjectured_bits);
    if (st.proven_bits, st.conjectured_bits) != security {
        return Err(refuse(
            part,
            format!(
                "it claims {} proven and {} conjectured bits; the proof has {} and {}",
                st.proven_bits, st.conjectured_bits, security.0, security.1
            ),
        ));
    }
    Ok(())
}

fn felt_field(part: &str, what: &str, text: &str) -> Result<Felt, Error> {
    let felt = Felt::from_hex(text).map_err(|_| refuse(part, format!("{what} is not a felt")))?;
    if felt.to_fixed_hex_string() != text {
        return Err(refuse(part, format!("{what} must be 0x and 64 lower-case hex digits")));
    }
    Ok(felt)
}

fn check_cairo(m: &Manifest, pie: &Pie, s: &Statement) -> Result<(), Error> {
    let part = "manifest cairo";
    let c = &m.cairo;
    let program_hash = felt_field(part, "the program hash", &c.program_hash)?;
    if program_hash != pie.program_hash {
        return Err(refuse(CAIRO_PIE, format!(
            "the PIE's program hash is {}, the manifest says {}", pie.program_hash.to_fixed_hex_string(), c.program_hash
        )));
    }
    if c.program_hash != CAIRO_PROGRAM_HASH {
        return Err(refuse(CAIRO_PIE, format!(
            "it is a run of another program ({}); our decision statement is {CAIRO_PROGRAM_HASH}", c.program_hash
        )));
    }
    if c.layout != CAIRO_LAYOUT {
        return Err(refuse(part, format!("the layout is {:?}, our statement is proven under {CAIRO_LAYOUT}", c.layout)));
    }
    let expected = s.cairo_output().map_err(|e| refuse(STATEMENT, e))?;
    if pie.output != expected {
        let at = pie.output.iter().zip(&expected).position(|(a, b)| a != b).unwrap_or(pie.output.len().min(expected.len()));
        return Err(refuse(CAIRO_PIE, format!(
            "its output differs from the proven statement (at felt {at} of {})", expected.len()
        )));
    }
    if c.steps != pie.steps {
        return Err(refuse(part, format!("it says {} steps, the PIE ran {}", c.steps, pie.steps)));
    }
    if c.bootloader_program_hash != facts::SHARP_BOOTLOADER_PROGRAM_HASH {
        return Err(refuse(part, format!(
            "the bootloader is {}, Atlantic proves under SHARP's {}", c.bootloader_program_hash, facts::SHARP_BOOTLOADER_PROGRAM_HASH
        )));
    }
    let integrity = facts::bootloaded_fact(pie.program_hash, &pie.output).to_fixed_hex_string();
    if c.integrity_fact != integrity {
        return Err(refuse(part, format!("the Integrity fact is {}; from the PIE it is {integrity}", c.integrity_fact)));
    }
    let sharp = facts::sharp_fact(pie.program_hash, &pie.output);
    if c.sharp_fact != sharp {
        return Err(refuse(part, format!("the SHARP fact is {}; from the PIE it is {sharp}", c.sharp_fact)));
    }
    Ok(())
}

/// Checks a bundle: its files, the proof (STARK, model hash, security), that the statement, the
/// manifest's decision, model, policy and proof record agree with what the proof proves, and
/// that the Cairo PIE is a run of our program with the same output and gives the stated facts.
pub fn verify_bundle(data: &[u8]) -> Result<VerifiedBundle, Error> {
    let files = read_files(data)?;
    let manifest: Manifest = serde_json::from_slice(&files[MANIFEST])
        .map_err(|e| refuse(MANIFEST, format!("malformed: {e}")))?;
    if manifest.format != FORMAT || manifest.version != FORMAT_VERSION {
        return Err(refuse(MANIFEST, format!(
            "format {:?} version {}; this verifier reads {FORMAT} version {FORMAT_VERSION}", manifest.format, manifest.version
        )));
    }
    check_file_hashes(&manifest, &files)?;
    let proof = proof_file::verify_file(&files[PROOF]).map_err(|e| refuse(PROOF, e.to_string()))?;
    check_statement_file(&files[STATEMENT], &proof.statement)?;
    check_stark(&manifest, &proof)?;
    check_model_and_policy(&manifest, &proof.statement)?;
    check_decision(&manifest, &proof.statement)?;
    let pie = cairo_pie::read(&files[CAIRO_PIE]).map_err(|e| refuse(CAIRO_PIE, e))?;
    check_cairo(&manifest, &pie, &proof.statement)?;
    Ok(VerifiedBundle {
        bundle_hash: proof_file::proof_hash(data),
        manifest,
        proof,
        pie,
    })
}
