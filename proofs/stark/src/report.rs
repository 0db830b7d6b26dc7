//! The verdict on a proof file or a decision bundle as people and programs read it: one text for
//! `obsqra-verify`, `python -m obsqra_stark` and `manage.py verify_proof`.

use serde_json::{json, Value};

use crate::bundle::{verify_bundle, Snapshot, VerifiedBundle, ZIP_MAGIC};
use crate::model::{violated_rules, POLICY_RULES};
use crate::proof_file::{verify_file, VerifiedFile};
use crate::Error;

fn policy_verdict(mask: u64) -> String {
    let broken = violated_rules(mask);
    if broken.is_empty() {
        format!("passed; broken rules: none (checked: {})", POLICY_RULES.join(", "))
    } else {
        format!("rejected; broken rules: {}", broken.join(", "))
    }
}

/// The lines both verdicts share: the proof, its security and what it proves.
fn proof_lines(v: &VerifiedFile, policy_name: Option<&str>) -> Vec<String> {
    let s = &v.statement;
    let policy = match policy_name {
        Some(name) => format!("{name}: {}", policy_verdict(s.violations)),
        None => policy_verdict(s.violations),
    };
    vec![
        format!("  prover         {}", v.prover),
        format!(
            "  security       {} bits proven, {} bits conjectured",
            v.security.proven_bits, v.security.conjectured_bits
        ),
        format!("  risk scores    jediswap {}, ekubo {}", s.jediswap_score, s.ekubo_score),
        format!("  allocation     jediswap {} bps, ekubo {} bps", s.jediswap_pct, s.ekubo_pct),
        format!("  policy         {policy}"),
    ]
}

fn file_summary(v: &VerifiedFile) -> String {
    let mut lines = vec![
        format!("VALID proof {}", v.proof_hash),
        format!("  model hash     {}", v.statement.model_hash),
    ];
    lines.extend(proof_lines(v, None));
    lines.join("\n")
}

fn snapshot_origin(s: &Snapshot) -> String {
    match s.block_number {
        Some(block) => format!("{} at block {block}", s.source),
        None => s.source.clone(),
    }
}

fn bundle_summary(b: &VerifiedBundle) -> String {
    let m = &b.manifest;
    let d = &m.decision;
    let sw = &m.software;
    let mut lines = vec![
        format!("VALID bundle {}", b.bundle_hash),
        format!("  decision       {}, made {}", d.id, d.created_at),
        format!(
            "  model          {} ({}), hash {}",
            m.model_version.label, m.model_version.family, m.model_version.model_hash
        ),
        format!(
            "  metrics        jediswap from {}, ekubo from {}",
            snapshot_origin(&d.jediswap_snapshot),
            snapshot_origin(&d.ekubo_snapshot)
        ),
        format!("  proof          {}", b.proof.proof_hash),
    ];
    lines.extend(proof_lines(&b.proof, Some(&m.policy.name)));
    lines.extend([
        format!(
            "  Cairo PIE      program {} ({} steps), output = the proven statement",
            m.cairo.program_hash, b.pie.steps
        ),
        format!("  Integrity fact {} (recomputed from the PIE)", m.cairo.integrity_fact),
        format!("  SHARP fact     {} (recomputed from the PIE)", m.cairo.sharp_fact),
        format!(
            "  on chain       FactRegistry {} ({}): a verification with >= {} bits under {}",
            m.on_chain.integrity_fact_registry,
            m.on_chain.network,
            m.on_chain.min_security_bits,
            m.on_chain.verifier_configs.join(" or ")
        ),
        format!(
            "  made by        obsqra-stark {}, winterfell {}, cairo-lang {}, commit {}",
            sw.obsqra_stark, sw.winterfell, sw.cairo_lang, sw.git_commit
        ),
        "  every part agrees; the chain check is in README.md inside the bundle".to_string(),
    ]);
    lines.join("\n")
}

fn file_json(v: &VerifiedFile) -> Value {
    json!({
        "valid": true,
        "kind": "proof",
        "proof_hash": v.proof_hash,
        "prover": v.prover,
        "security": {
            "conjectured_bits": v.security.conjectured_bits,
            "proven_bits": v.security.proven_bits,
        },
        "statement": v.statement,
        "violated_rules": violated_rules(v.statement.violations),
    })
}

fn bundle_json(b: &VerifiedBundle) -> Value {
    let mut answer = file_json(&b.proof);
    answer["kind"] = json!("bundle");
    answer["bundle_hash"] = json!(b.bundle_hash);
    answer["manifest"] = json!(b.manifest);
    answer
}

fn refusal_json(reason: &Error) -> Value {
    match reason {
        Error::Bundle { part, reason } => json!({"valid": false, "part": part, "reason": reason}),
        other => json!({"valid": false, "reason": other.to_string()}),
    }
}

/// Checks a proof file, or a decision bundle (any zip); returns whether it is valid and the
/// report: the summary or `INVALID: reason`, or with `as_json` one JSON object (`valid`, then
/// what was proven or the reason, with the failing `part` of a bundle).
pub fn report(data: &[u8], as_json: bool) -> (bool, String) {
    let verdict = if data.starts_with(ZIP_MAGIC) {
        verify_bundle(data).map(|b| (bundle_summary(&b), bundle_json(&b)))
    } else {
        verify_file(data).map(|v| (file_summary(&v), file_json(&v)))
    };
    match verdict {
        Ok((_, answer)) if as_json => (true, answer.to_string()),
        Ok((text, _)) => (true, text),
        Err(reason) if as_json => (false, refusal_json(&reason).to_string()),
        Err(reason) => (false, format!("INVALID: {reason}")),
    }
}
