//! The verdict on a proof file as people and programs read it: one text for `obsqra-verify`,
//! `python -m obsqra_stark` and `manage.py verify_proof`.

use serde_json::json;

use crate::model::POLICY_RULES;
use crate::proof_file::{verify_file, VerifiedFile};

fn violated_rules(mask: u64) -> Vec<&'static str> {
    POLICY_RULES
        .iter()
        .enumerate()
        .filter(|(bit, _)| mask >> bit & 1 == 1)
        .map(|(_, rule)| *rule)
        .collect()
}

fn summary(v: &VerifiedFile) -> String {
    let s = &v.statement;
    let broken = violated_rules(s.violations);
    let verdict = if broken.is_empty() {
        format!(
            "passed; broken rules: none (checked: {})",
            POLICY_RULES.join(", ")
        )
    } else {
        format!("rejected; broken rules: {}", broken.join(", "))
    };
    [
        format!("VALID proof {}", v.proof_hash),
        format!("  prover         {}", v.prover),
        format!(
            "  security       {} bits proven, {} bits conjectured",
            v.security.proven_bits, v.security.conjectured_bits
        ),
        format!("  model hash     {}", s.model_hash),
        format!(
            "  risk scores    jediswap {}, ekubo {}",
            s.jediswap_score, s.ekubo_score
        ),
        format!(
            "  allocation     jediswap {} bps, ekubo {} bps",
            s.jediswap_pct, s.ekubo_pct
        ),
        format!("  policy         {verdict}"),
    ]
    .join("\n")
}

/// Checks a proof file; returns whether it is valid and the report: the summary or
/// `INVALID: reason`, or with `as_json` one JSON object (`valid`, then the statement or the
/// reason).
pub fn report(data: &[u8], as_json: bool) -> (bool, String) {
    match verify_file(data) {
        Ok(v) if as_json => {
            let answer = json!({
                "valid": true,
                "proof_hash": v.proof_hash,
                "prover": v.prover,
                "security": {
                    "conjectured_bits": v.security.conjectured_bits,
                    "proven_bits": v.security.proven_bits,
                },
                "statement": v.statement,
                "violated_rules": violated_rules(v.statement.violations),
            });
            (true, answer.to_string())
        }
        Ok(v) => (true, summary(&v)),
        Err(reason) if as_json => (
            false,
            json!({"valid": false, "reason": reason.to_string()}).to_string(),
        ),
        Err(reason) => (false, format!("INVALID: {reason}")),
    }
}
