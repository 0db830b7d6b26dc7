//! What a proof states, as it appears in the proof file, and the model hash that names the model.
//!
//! The JSON shape is the one the Django app publishes (`proofs.statement.PublicInputs`): the
//! model hash as a 0x-prefixed 64-digit felt, the parameters, both metric sets, the APYs, the
//! policy, then the outputs. Serde refuses unknown, missing and duplicate fields.

use serde::{Deserialize, Serialize};
use starknet_crypto::{poseidon_hash_many, Felt};

use crate::model::*;

/// The risk family's Cairo short string; it leads the sequence the model hash is taken over.
pub const FAMILY_ID: &str = "obsqra-risk-affine-floor-v1";

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ScaledTerm {
    pub weight: u64,
    pub divisor: u64,
    pub offset: u64,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AgeTerm {
    pub cap_days: u64,
    pub weight: u64,
    pub divisor: u64,
    pub offset: u64,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Parameters {
    pub utilization: ScaledTerm,
    pub volatility: ScaledTerm,
    pub liquidity_points: [u64; 4],
    pub audit: ScaledTerm,
    pub age: AgeTerm,
    pub clamp_min: u64,
    pub clamp_max: u64,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Metrics {
    pub utilization: u64,
    pub volatility: u64,
    pub liquidity: u64,
    pub audit_score: u64,
    pub age_days: u64,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Apys {
    pub jediswap: u64,
    pub ekubo: u64,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub max_single: u64,
    pub min_diversification: u64,
    pub max_volatility: u64,
    pub min_liquidity: u64,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Statement {
    pub model_hash: String,
    pub parameters: Parameters,
    pub jediswap_metrics: Metrics,
    pub ekubo_metrics: Metrics,
    pub apys: Apys,
    pub policy: Policy,
    pub jediswap_score: u64,
    pub ekubo_score: u64,
    pub jediswap_pct: u64,
    pub ekubo_pct: u64,
    pub violations: u64,
}

fn metrics_from(m: &[u64]) -> Metrics {
    Metrics {
        utilization: m[M_UTIL],
        volatility: m[M_VOL],
        liquidity: m[M_LIQ],
        audit_score: m[M_AUDIT],
        age_days: m[M_AGE],
    }
}

fn metrics_elements(m: &Metrics) -> [u64; NUM_METRICS] {
    [
        m.utilization,
        m.volatility,
        m.liquidity,
        m.audit_score,
        m.age_days,
    ]
}

impl Parameters {
    /// The canonical order shared by the model hash, the STARK public inputs and Cairo.
    pub fn to_elements(&self) -> [u64; NUM_PARAMS] {
        let (u, v, a, g) = (&self.utilization, &self.volatility, &self.audit, &self.age);
        let l = self.liquidity_points;
        [
            u.weight,
            u.divisor,
            u.offset,
            v.weight,
            v.divisor,
            v.offset,
            l[0],
            l[1],
            l[2],
            l[3],
            a.weight,
            a.divisor,
            a.offset,
            g.cap_days,
            g.weight,
            g.divisor,
            g.offset,
            self.clamp_min,
            self.clamp_max,
        ]
    }

    fn from_elements(e: &[u64]) -> Self {
        let term = |i: usize| ScaledTerm {
            weight: e[i],
            divisor: e[i + 1],
            offset: e[i + 2],
        };
        Parameters {
            utilization: term(P_UTIL_W),
            volatility: term(P_VOL_W),
            liquidity_points: e[P_LIQ_PTS..P_LIQ_PTS + 4].try_into().unwrap(),
            audit: term(P_AUDIT_W),
            age: AgeTerm {
                cap_days: e[P_AGE_CAP],
                weight: e[P_AGE_W],
                divisor: e[P_AGE_D],
                offset: e[P_AGE_O],
            },
            clamp_min: e[P_CLAMP_MIN],
            clamp_max: e[P_CLAMP_MAX],
        }
    }
}

/// Poseidon (Starknet's `poseidon_hash_many`) over the family id and the 19 parameters.
pub fn model_hash(params: &[u64; NUM_PARAMS]) -> Felt {
    let mut elements = vec![Felt::from_bytes_be_slice(FAMILY_ID.as_bytes())];
    elements.extend(params.iter().map(|&p| Felt::from(p)));
    poseidon_hash_many(&elements)
}

/// The model hash as the four 63-bit limbs it takes in the public input vector.
pub fn model_hash_limbs(params: &[u64; NUM_PARAMS]) -> [u64; HASH_LIMBS] {
    let mut le = model_hash(params).to_bytes_be();
    le.reverse();
    // a felt is below 2^252, so it always fits the limbs
    hash_to_limbs(&le).unwrap()
}

/// The one spelling of a felt in files and pages: 0x and 64 lower-case hex digits.
pub fn felt_hex(le_bytes: &[u8; 32]) -> String {
    let mut s = String::with_capacity(66);
    s.push_str("0x");
    for b in le_bytes.iter().rev() {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Parses a felt spelled as [felt_hex]; anything else is `None`.
fn parse_felt_hex(s: &str) -> Option<[u8; 32]> {
    let digits = s.strip_prefix("0x")?;
    if digits.len() != 64
        || !digits
            .bytes()
            .all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
    {
        return None;
    }
    let mut le = [0u8; 32];
    for (i, byte) in le.iter_mut().enumerate() {
        let at = 62 - 2 * i;
        *byte = u8::from_str_radix(&digits[at..at + 2], 16).ok()?;
    }
    Some(le)
}

impl Statement {
    /// The statement named by a public input vector (whose limbs must form a felt).
    pub fn from_vector(pi: &[u64; PUBLIC_INPUT_LEN]) -> Self {
        let limbs: [u64; HASH_LIMBS] = pi[PI_HASH..PI_PARAMS].try_into().unwrap();
        Statement {
            model_hash: felt_hex(&limbs_to_hash(&limbs)),
            parameters: Parameters::from_elements(&pi[PI_PARAMS..PI_JEDI]),
            jediswap_metrics: metrics_from(&pi[PI_JEDI..PI_EKUBO]),
            ekubo_metrics: metrics_from(&pi[PI_EKUBO..PI_APY_JEDI]),
            apys: Apys {
                jediswap: pi[PI_APY_JEDI],
                ekubo: pi[PI_APY_EKUBO],
            },
            policy: Policy {
                max_single: pi[PI_POLICY + POL_MAX_SINGLE],
                min_diversification: pi[PI_POLICY + POL_MIN_DIV],
                max_volatility: pi[PI_POLICY + POL_MAX_VOL],
                min_liquidity: pi[PI_POLICY + POL_MIN_LIQ],
            },
            jediswap_score: pi[PI_RISK_JEDI],
            ekubo_score: pi[PI_RISK_EKUBO],
            jediswap_pct: pi[PI_PCT_JEDI],
            ekubo_pct: pi[PI_PCT_EKUBO],
            violations: pi[PI_MASK],
        }
    }

    /// The output segment the Cairo statement writes for this statement: the model hash as one
    /// felt, then every other public input in the same order (proofs/cairo_statement.py).
    pub fn cairo_output(&self) -> Result<Vec<Felt>, String> {
        let vector = self.to_vector()?;
        let mut output = vec![Felt::from_hex(&self.model_hash).map_err(|e| e.to_string())?];
        output.extend(vector[PI_PARAMS..].iter().map(|&v| Felt::from(v)));
        Ok(output)
    }

    /// The public input vector; `Err` names the field when the model hash is not a felt.
    pub fn to_vector(&self) -> Result<[u64; PUBLIC_INPUT_LEN], String> {
        let hash = parse_felt_hex(&self.model_hash)
            .ok_or("model_hash must be 0x followed by 64 lower-case hex digits")?;
        let limbs = hash_to_limbs(&hash).ok_or("model_hash is not a Starknet felt")?;
        let p = &self.policy;
        let mut pi = [0u64; PUBLIC_INPUT_LEN];
        pi[PI_HASH..PI_PARAMS].copy_from_slice(&limbs);
        pi[PI_PARAMS..PI_JEDI].copy_from_slice(&self.parameters.to_elements());
        pi[PI_JEDI..PI_EKUBO].copy_from_slice(&metrics_elements(&self.jediswap_metrics));
        pi[PI_EKUBO..PI_APY_JEDI].copy_from_slice(&metrics_elements(&self.ekubo_metrics));
        pi[PI_APY_JEDI] = self.apys.jediswap;
        pi[PI_APY_EKUBO] = self.apys.ekubo;
        pi[PI_POLICY..PI_RISK_JEDI].copy_from_slice(&[
            p.max_single,
            p.min_diversification,
            p.max_volatility,
            p.min_liquidity,
        ]);
        pi[PI_RISK_JEDI..].copy_from_slice(&[
            self.jediswap_score,
            self.ekubo_score,
            self.jediswap_pct,
            self.ekubo_pct,
            self.violations,
        ]);
        Ok(pi)
    }
}
