//! The risk model: bounds, the public-input layout, and a plain integer reference computation.
//!
//! Everything here is ordinary `u64` arithmetic. The AIR (`air.rs`) re-proves the same relations
//! over the Goldilocks field; the bounds below are what make the field relations equivalent to
//! these integer ones (see the no-wrap argument in `air.rs`), so they are checked on every input
//! the prover accepts and on every public input vector the verifier sees.

use core::fmt;

// PUBLIC INPUT LAYOUT
// ================================================================================================

/// Number of model parameters.
pub const NUM_PARAMS: usize = 19;
/// Number of metrics per protocol.
pub const NUM_METRICS: usize = 5;
/// Number of decision inputs (params 19 + jediswap 5 + ekubo 5 + apys 2 + policy 4).
pub const NUM_INPUTS: usize = 35;
/// Number of 63-bit limbs of the model hash.
pub const HASH_LIMBS: usize = 4;
/// Length of the public input vector shared with Python.
pub const PUBLIC_INPUT_LEN: usize = 44;

/// A model hash limb holds 63 bits, so every limb is a canonical Goldilocks element.
pub const LIMB_BITS: u32 = 63;
pub const LIMB_MASK: u64 = (1u64 << LIMB_BITS) - 1;
/// The model hash is a Starknet felt, i.e. below 2^252 = 2^(4*63).
pub const HASH_BITS: u32 = 252;

// offsets into the 44-value public input vector
pub const PI_HASH: usize = 0;
pub const PI_PARAMS: usize = 4;
pub const PI_JEDI: usize = 23;
pub const PI_EKUBO: usize = 28;
pub const PI_APY_JEDI: usize = 33;
pub const PI_APY_EKUBO: usize = 34;
pub const PI_POLICY: usize = 35;
pub const PI_RISK_JEDI: usize = 39;
pub const PI_RISK_EKUBO: usize = 40;
pub const PI_PCT_JEDI: usize = 41;
pub const PI_PCT_EKUBO: usize = 42;
pub const PI_MASK: usize = 43;

// parameter indices (within the 19 params)
pub const P_UTIL_W: usize = 0;
pub const P_UTIL_D: usize = 1;
pub const P_UTIL_O: usize = 2;
pub const P_VOL_W: usize = 3;
pub const P_VOL_D: usize = 4;
pub const P_VOL_O: usize = 5;
pub const P_LIQ_PTS: usize = 6; // 6..=9
pub const P_AUDIT_W: usize = 10;
pub const P_AUDIT_D: usize = 11;
pub const P_AUDIT_O: usize = 12;
pub const P_AGE_CAP: usize = 13;
pub const P_AGE_W: usize = 14;
pub const P_AGE_D: usize = 15;
pub const P_AGE_O: usize = 16;
pub const P_CLAMP_MIN: usize = 17;
pub const P_CLAMP_MAX: usize = 18;

// metric indices (within a protocol's 5 metrics)
pub const M_UTIL: usize = 0;
pub const M_VOL: usize = 1;
pub const M_LIQ: usize = 2;
pub const M_AUDIT: usize = 3;
pub const M_AGE: usize = 4;

/// Policy rules in bit order of the violations mask (allocations.risk.POLICY_RULES).
pub const POLICY_RULES: [&str; 4] = [
    "max_single",
    "min_diversification",
    "max_volatility",
    "min_liquidity",
];

/// The rules a violations mask names, in bit order.
pub fn violated_rules(mask: u64) -> Vec<&'static str> {
    POLICY_RULES
        .iter()
        .enumerate()
        .filter(|(bit, _)| mask >> bit & 1 == 1)
        .map(|(_, rule)| *rule)
        .collect()
}

// policy indices (within the 4 policy values)
pub const POL_MAX_SINGLE: usize = 0;
pub const POL_MIN_DIV: usize = 1;
pub const POL_MAX_VOL: usize = 2;
pub const POL_MIN_LIQ: usize = 3;

/// Human-readable names of the 44 public inputs, used in error messages.
pub const PUBLIC_INPUT_NAMES: [&str; PUBLIC_INPUT_LEN] = [
    "model hash limb 0",
    "model hash limb 1",
    "model hash limb 2",
    "model hash limb 3",
    "utilization_weight",
    "utilization_divisor",
    "utilization_offset",
    "volatility_weight",
    "volatility_divisor",
    "volatility_offset",
    "liquidity_points[0]",
    "liquidity_points[1]",
    "liquidity_points[2]",
    "liquidity_points[3]",
    "audit_weight",
    "audit_divisor",
    "audit_offset",
    "age_cap_days",
    "age_weight",
    "age_divisor",
    "age_offset",
    "clamp_min",
    "clamp_max",
    "jediswap utilization",
    "jediswap volatility",
    "jediswap liquidity tier",
    "jediswap audit_score",
    "jediswap age_days",
    "ekubo utilization",
    "ekubo volatility",
    "ekubo liquidity tier",
    "ekubo audit_score",
    "ekubo age_days",
    "jediswap apy",
    "ekubo apy",
    "max_single",
    "min_diversification",
    "max_volatility",
    "min_liquidity",
    "jediswap risk score",
    "ekubo risk score",
    "jediswap pct",
    "ekubo pct",
    "violations mask",
];

// BOUNDS
// ================================================================================================

pub const MAX_WEIGHT: u64 = 100_000;
pub const MAX_DIVISOR: u64 = 1_000_000;
pub const MAX_LIQ_POINTS: u64 = 1_000;
pub const MAX_AGE_CAP: u64 = 36_500;
pub const MAX_CLAMP: u64 = 1_000;
pub const MAX_UTIL: u64 = 10_000;
pub const MAX_VOL: u64 = 10_000;
pub const MAX_LIQ_TIER: u64 = 3;
pub const MAX_AUDIT: u64 = 100;
pub const MAX_AGE_DAYS: u64 = 36_500;
pub const MAX_APY: u64 = 1_000_000;
pub const BPS: u64 = 10_000;
pub const MAX_MIN_DIV: u64 = 2;
/// A protocol counts towards diversification when its share is at least this many bps.
pub const DIVERSIFICATION_PCT: u64 = 1_000;
pub const MAX_MASK: u64 = 15;

/// Inclusive upper bound of each of the 44 public inputs (lower bounds: 0, except divisors and
/// APYs which are >= 1). Offsets and clamp_max have an additional dependent bound checked in
/// [check_public_inputs].
#[rustfmt::skip]
const UPPER: [u64; PUBLIC_INPUT_LEN] = [
    LIMB_MASK, LIMB_MASK, LIMB_MASK, LIMB_MASK,
    MAX_WEIGHT, MAX_DIVISOR, MAX_DIVISOR - 1,
    MAX_WEIGHT, MAX_DIVISOR, MAX_DIVISOR - 1,
    MAX_LIQ_POINTS, MAX_LIQ_POINTS, MAX_LIQ_POINTS, MAX_LIQ_POINTS,
    MAX_WEIGHT, MAX_DIVISOR, MAX_DIVISOR - 1,
    MAX_AGE_CAP, MAX_WEIGHT, MAX_DIVISOR, MAX_DIVISOR - 1,
    MAX_CLAMP, MAX_CLAMP,
    MAX_UTIL, MAX_VOL, MAX_LIQ_TIER, MAX_AUDIT, MAX_AGE_DAYS,
    MAX_UTIL, MAX_VOL, MAX_LIQ_TIER, MAX_AUDIT, MAX_AGE_DAYS,
    MAX_APY, MAX_APY,
    BPS, MAX_MIN_DIV, MAX_VOL, MAX_LIQ_TIER,
    MAX_CLAMP, MAX_CLAMP, BPS, BPS, MAX_MASK,
];

fn lower(i: usize) -> u64 {
    const DIVISORS: [usize; 4] = [
        PI_PARAMS + P_UTIL_D,
        PI_PARAMS + P_VOL_D,
        PI_PARAMS + P_AUDIT_D,
        PI_PARAMS + P_AGE_D,
    ];
    if DIVISORS.contains(&i) || i == PI_APY_JEDI || i == PI_APY_EKUBO {
        1
    } else {
        0
    }
}

/// The divisor an offset must stay below, if public input `i` is an offset.
fn offset_divisor(i: usize) -> Option<usize> {
    if !(PI_PARAMS..PI_PARAMS + NUM_PARAMS).contains(&i) {
        return None;
    }
    match i - PI_PARAMS {
        P_UTIL_O => Some(PI_PARAMS + P_UTIL_D),
        P_VOL_O => Some(PI_PARAMS + P_VOL_D),
        P_AUDIT_O => Some(PI_PARAMS + P_AUDIT_D),
        P_AGE_O => Some(PI_PARAMS + P_AGE_D),
        _ => None,
    }
}

/// A value of the public input vector violates its bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundsError {
    /// Index into the 44-value public input vector.
    pub index: usize,
    pub value: u64,
    pub detail: String,
}

impl BoundsError {
    pub fn name(&self) -> &'static str {
        PUBLIC_INPUT_NAMES[self.index]
    }
}

impl fmt::Display for BoundsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "public input {} ({}) out of range: {}",
            self.index,
            self.name(),
            self.detail
        )
    }
}

impl std::error::Error for BoundsError {}

/// Checks every value of a 44-value public input vector (or of its first `len` values, which is
/// how the prover checks the 39 values that precede the outputs) against the model bounds.
pub fn check_bounds(values: &[u64]) -> Result<(), BoundsError> {
    for (i, &v) in values.iter().enumerate() {
        let (lo, mut hi) = (lower(i), UPPER[i]);
        // dependent bounds: offset < divisor, clamp_min <= clamp_max
        let dependent_on = offset_divisor(i);
        if let Some(d) = dependent_on {
            hi = hi.min(values[d].saturating_sub(1));
        }
        if i == PI_PARAMS + P_CLAMP_MAX && v < values[PI_PARAMS + P_CLAMP_MIN] {
            return Err(BoundsError {
                index: i,
                value: v,
                detail: format!("{v} is below clamp_min {}", values[PI_PARAMS + P_CLAMP_MIN]),
            });
        }
        if v < lo || v > hi {
            let extra = match dependent_on {
                Some(d) => format!(" (must be below {})", PUBLIC_INPUT_NAMES[d]),
                None => String::new(),
            };
            return Err(BoundsError {
                index: i,
                value: v,
                detail: format!("{v} not in {lo}..={hi}{extra}"),
            });
        }
    }
    Ok(())
}

/// Checks a complete public input vector. The verifier calls this before anything else: the
/// soundness argument of the AIR (no product can wrap the field) depends on these bounds.
pub fn check_public_inputs(values: &[u64; PUBLIC_INPUT_LEN]) -> Result<(), BoundsError> {
    check_bounds(values)
}

// MODEL HASH
// ================================================================================================

/// Splits a little-endian 256-bit integer (< 2^252) into 4 little-endian 63-bit limbs.
/// Returns `None` if the value does not fit in 252 bits.
pub fn hash_to_limbs(le_bytes: &[u8; 32]) -> Option<[u64; HASH_LIMBS]> {
    if le_bytes[31] & 0xF0 != 0 {
        return None;
    }
    let mut words = [0u64; 4];
    for (i, w) in words.iter_mut().enumerate() {
        *w = u64::from_le_bytes(le_bytes[8 * i..8 * i + 8].try_into().unwrap());
    }
    let bit = |k: u32| -> u64 { (words[(k / 64) as usize] >> (k % 64)) & 1 };
    let mut limbs = [0u64; HASH_LIMBS];
    for (i, limb) in limbs.iter_mut().enumerate() {
        for b in 0..LIMB_BITS {
            *limb |= bit(LIMB_BITS * i as u32 + b) << b;
        }
    }
    Some(limbs)
}

/// Inverse of [hash_to_limbs].
pub fn limbs_to_hash(limbs: &[u64; HASH_LIMBS]) -> [u8; 32] {
    let mut words = [0u64; 4];
    for (i, &limb) in limbs.iter().enumerate() {
        for b in 0..LIMB_BITS {
            let k = LIMB_BITS * i as u32 + b;
            words[(k / 64) as usize] |= ((limb >> b) & 1) << (k % 64);
        }
    }
    let mut out = [0u8; 32];
    for (i, w) in words.iter().enumerate() {
        out[8 * i..8 * i + 8].copy_from_slice(&w.to_le_bytes());
    }
    out
}

// REFERENCE COMPUTATION
// ================================================================================================

/// The decision outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outputs {
    pub risk: [u64; 2],
    pub pct: [u64; 2],
    pub mask: u64,
}

/// Per-protocol risk score. `params` are the 19 model parameters, `m` a protocol's 5 metrics.
pub fn risk_score(params: &[u64], m: &[u64]) -> u64 {
    let t_util = (m[M_UTIL] * params[P_UTIL_W] + params[P_UTIL_O]) / params[P_UTIL_D];
    let t_vol = (m[M_VOL] * params[P_VOL_W] + params[P_VOL_O]) / params[P_VOL_D];
    let t_liq = params[P_LIQ_PTS + m[M_LIQ] as usize];
    let t_audit =
        ((MAX_AUDIT - m[M_AUDIT]) * params[P_AUDIT_W] + params[P_AUDIT_O]) / params[P_AUDIT_D];
    let cap = params[P_AGE_CAP];
    let t_age = ((cap - m[M_AGE].min(cap)) * params[P_AGE_W] + params[P_AGE_O]) / params[P_AGE_D];
    let sum = t_util + t_vol + t_liq + t_audit + t_age;
    sum.clamp(params[P_CLAMP_MIN], params[P_CLAMP_MAX])
}

/// Allocation weight of a protocol: apy * 10000 // (risk + 1).
pub fn allocation(apy: u64, risk: u64) -> u64 {
    apy * BPS / (risk + 1)
}

/// Evaluates the full decision on the 35 inputs (params 19, jediswap 5, ekubo 5, apys 2,
/// policy 4). The inputs must satisfy the bounds (see [check_inputs]).
pub fn evaluate(inputs: &[u64; NUM_INPUTS]) -> Outputs {
    let params = &inputs[0..NUM_PARAMS];
    let jedi = &inputs[19..24];
    let ekubo = &inputs[24..29];
    let (apy_j, apy_e) = (inputs[29], inputs[30]);
    let policy = &inputs[31..35];

    let risk = [risk_score(params, jedi), risk_score(params, ekubo)];
    let alloc_j = allocation(apy_j, risk[0]);
    let alloc_e = allocation(apy_e, risk[1]);
    let pct_j = alloc_j * BPS / (alloc_j + alloc_e);
    let pct = [pct_j, BPS - pct_j];

    let mut mask = 0;
    if pct[0] > policy[POL_MAX_SINGLE] || pct[1] > policy[POL_MAX_SINGLE] {
        mask |= 1;
    }
    let diversified = pct.iter().filter(|&&p| p >= DIVERSIFICATION_PCT).count() as u64;
    if diversified < policy[POL_MIN_DIV] {
        mask |= 2;
    }
    if jedi[M_VOL] > policy[POL_MAX_VOL] || ekubo[M_VOL] > policy[POL_MAX_VOL] {
        mask |= 4;
    }
    if jedi[M_LIQ] > policy[POL_MIN_LIQ] || ekubo[M_LIQ] > policy[POL_MIN_LIQ] {
        mask |= 8;
    }
    Outputs { risk, pct, mask }
}

/// Checks the 35 decision inputs; on error, `index` of the returned error is the index into the
/// public input vector (input `i` is public input `i + 4`).
pub fn check_inputs(inputs: &[u64; NUM_INPUTS]) -> Result<(), BoundsError> {
    let mut values = [0u64; PI_RISK_JEDI];
    values[PI_PARAMS..].copy_from_slice(inputs);
    check_bounds(&values)
}

/// Builds the 44-value public input vector: hash limbs, inputs, then outputs.
pub fn public_vector(
    limbs: &[u64; HASH_LIMBS],
    inputs: &[u64; NUM_INPUTS],
    out: &Outputs,
) -> [u64; PUBLIC_INPUT_LEN] {
    let mut v = [0u64; PUBLIC_INPUT_LEN];
    v[PI_HASH..PI_PARAMS].copy_from_slice(limbs);
    v[PI_PARAMS..PI_RISK_JEDI].copy_from_slice(inputs);
    v[PI_RISK_JEDI] = out.risk[0];
    v[PI_RISK_EKUBO] = out.risk[1];
    v[PI_PCT_JEDI] = out.pct[0];
    v[PI_PCT_EKUBO] = out.pct[1];
    v[PI_MASK] = out.mask;
    v
}
