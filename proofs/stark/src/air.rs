//! The AIR: one trace proves both risk scores, both allocation percentages and the violations
//! mask for the parameters, metrics, APYs and policy given as public inputs.
//!
//! # Layout
//!
//! Trace length 64, 47 main columns, no auxiliary segment. Every column is a *range-check
//! accumulator*: `acc[i+1] = 2*acc[i] + b_i` with `b_i` in {0, 1} on every transition, and
//! `acc[63 - W] = 0` by assertion, where `W` is the column's width. Hence `acc[63]` is a
//! `W`-bit integer, written MSB first. Rows before `63 - W` are padding (see `prover.rs`).
//!
//! Two kinds of columns:
//! * plain: the witness value is `acc[63]`, range `[0, 2^W)`.
//! * flagged: `W = bits + 1`; the value is `acc[62]` (range `[0, 2^bits)`) and the last bit
//!   `acc[63] - 2*acc[62]` is a binary flag (a comparison result or a one-hot selector). This
//!   gives every comparison's boolean and its slack in one column.
//!
//! All relations between values are checked on the last transition (current = row 62,
//! next = row 63) by multiplying them with a periodic selector that is 1 only on row 62. Public
//! inputs enter the relations as constants (they are also in the Fiat-Shamir seed).
//!
//! Constraint degrees: 47 bit constraints of degree 2; 45 relations of degree 1 or 2 times the
//! selector (`with_cycles(1|2, [64])`), so the composition polynomial has degree < 2 * 64 and
//! is committed as 2 columns.
//!
//! # Bit widths and why nothing wraps p = 2^64 - 2^32 + 1
//!
//! The verifier checks the public inputs against the bounds in `model.rs` first. Given those
//! (numbers are maxima):
//!
//! | value | max | bits |
//! |---|---|---|
//! | util/vol numerator `m*w + o` | 10_000 * 100_000 + 999_999 = 1_000_999_999 | q: 30 |
//! | audit numerator `(100-a)*w + o` | 10_999_999 | q: 24 |
//! | age numerator `(cap - min(age,cap))*w + o` | 3_650_999_999 | q: 32 |
//! | remainders / `d-1-r` of those 4 divisions | d - 1 <= 999_999 | 20 |
//! | `|age - cap|` slack | 36_500 | 16 |
//! | sum S of the 5 terms | < 2^30+2^30+1000+2^24+2^32 < 2^34 (honest: 5_663_000_996 < 2^33) | |
//! | clamp slacks (`S - min`, `min - S - 1`, `S - max - 1`, `max - S`) | < 2^33 | 33 |
//! | alloc quotient `apy*10000 // (risk+1)` | 10^10 | 34 |
//! | alloc remainder / slack | risk <= 1000 so d - 1 <= 1000 | 10 |
//! | pct remainder / slack, `d = a_j + a_e` | d - 1 < 2 * 10^10 | 35 |
//! | policy comparison slacks | 10_000 | 14 |
//! | liquidity / diversification slacks | 3 | 2 |
//!
//! Division `n = q*d + r` with public `n`, `d`: q < 2^34, d <= 10^6 < 2^20, so q*d + r < 2^55;
//! `r + s = d - 1` with `r, s < 2^20` is < 2^21. Both field equations therefore hold over the
//! integers, which forces `0 <= r <= d-1` and `q = n // d`.
//!
//! Percentage: `10000*a_j = pct_j*(a_j+a_e) + r` with `a_j, a_e < 2^34` (range-checked alloc
//! quotients), `pct_j <= 10000 < 2^14` (public, bound-checked): every side is < 2^50. The second
//! relation `pct_e*(a_j+a_e) = 10000*a_e + r` (same `r`) subtracts to
//! `(pct_j + pct_e - 10000) * (a_j+a_e) = 0`; `a_j + a_e = r + s + 1` lies in `[1, 2^36)`, so it
//! is a non-zero field element and `pct_e = 10000 - pct_j`.
//!
//! Comparisons `f = [x > y]` use the slack `f ? x-y-1 : y-x` range-checked to `k` bits where all
//! honest slacks are < 2^k and |x - y| < 2^34; a wrong `f` makes the slack a negative integer,
//! i.e. a field element >= p - 2^35, which has no `k`-bit decomposition. The clamp uses two such
//! comparisons (`S < min`, `S > max`); since min <= max they cannot both be 1, so
//! `risk = lo*min + hi*max + (1-lo-hi)*S` is the clamp.
//!
//! The liquidity lookup uses a one-hot selector (four flags, sum 1, `sum k*sel_k = tier`) and
//! `t_liq = sum sel_k * points[k]`.

use winterfell::{
    math::{fields::f64::BaseElement, FieldElement, ToElements},
    Air, AirContext, Assertion, EvaluationFrame, ProofOptions, TraceInfo,
    TransitionConstraintDegree,
};

use crate::model::*;

// TRACE SHAPE
// ================================================================================================

pub const TRACE_LENGTH: usize = 64;
pub const LAST_STEP: usize = TRACE_LENGTH - 1;

/// Columns per protocol, in this order.
pub const Q_UTIL: usize = 0; // flag: one-hot selector for liquidity tier 0
pub const R_UTIL: usize = 1;
pub const S_UTIL: usize = 2;
pub const Q_VOL: usize = 3; // flag: one-hot tier 1
pub const R_VOL: usize = 4;
pub const S_VOL: usize = 5;
pub const Q_AUDIT: usize = 6; // flag: one-hot tier 2
pub const R_AUDIT: usize = 7;
pub const S_AUDIT: usize = 8;
pub const AGE_CMP: usize = 9; // value: |age - cap| slack, flag: age > cap
pub const Q_AGE: usize = 10; // flag: one-hot tier 3
pub const R_AGE: usize = 11;
pub const S_AGE: usize = 12;
pub const CLAMP_LO: usize = 13; // flag: S < clamp_min
pub const CLAMP_HI: usize = 14; // flag: S > clamp_max
pub const Q_ALLOC: usize = 15;
pub const R_ALLOC: usize = 16;
pub const S_ALLOC: usize = 17;
pub const PROTO_COLS: usize = 18;

/// Global columns.
pub const R_PCT: usize = 2 * PROTO_COLS;
pub const S_PCT: usize = R_PCT + 1;
pub const MAXS_J: usize = R_PCT + 2; // flag: pct_j > max_single
pub const MAXS_E: usize = R_PCT + 3; // flag: pct_e > max_single
pub const DIV_J: usize = R_PCT + 4; // flag: pct_j >= 1000
pub const DIV_E: usize = R_PCT + 5; // flag: pct_e >= 1000
pub const DIV_CNT: usize = R_PCT + 6; // flag: count < min_diversification
pub const VOL_J: usize = R_PCT + 7; // flag: vol_j > max_volatility
pub const VOL_E: usize = R_PCT + 8; // flag: vol_e > max_volatility
pub const LIQ_J: usize = R_PCT + 9; // flag: tier_j > min_liquidity
pub const LIQ_E: usize = R_PCT + 10; // flag: tier_e > min_liquidity
pub const TRACE_WIDTH: usize = R_PCT + 11;

/// Width of a column's value (without the flag) and whether it carries a flag.
#[derive(Clone, Copy, Debug)]
pub struct ColumnSpec {
    pub name: &'static str,
    pub bits: usize,
    pub flag: bool,
}

impl ColumnSpec {
    /// Total number of accumulated bits.
    pub const fn width(&self) -> usize {
        self.bits + self.flag as usize
    }
}

const fn col(name: &'static str, bits: usize, flag: bool) -> ColumnSpec {
    ColumnSpec { name, bits, flag }
}

const PROTO_SPECS: [ColumnSpec; PROTO_COLS] = [
    col("q_util", 30, true),
    col("r_util", 20, false),
    col("s_util", 20, false),
    col("q_vol", 30, true),
    col("r_vol", 20, false),
    col("s_vol", 20, false),
    col("q_audit", 24, true),
    col("r_audit", 20, false),
    col("s_audit", 20, false),
    col("age_cmp", 16, true),
    col("q_age", 32, true),
    col("r_age", 20, false),
    col("s_age", 20, false),
    col("clamp_lo", 33, true),
    col("clamp_hi", 33, true),
    col("q_alloc", 34, false),
    col("r_alloc", 10, false),
    col("s_alloc", 10, false),
];

const GLOBAL_SPECS: [ColumnSpec; TRACE_WIDTH - R_PCT] = [
    col("r_pct", 35, false),
    col("s_pct", 35, false),
    col("maxs_j", 14, true),
    col("maxs_e", 14, true),
    col("div_j", 14, true),
    col("div_e", 14, true),
    col("div_cnt", 2, true),
    col("vol_j", 14, true),
    col("vol_e", 14, true),
    col("liq_j", 2, true),
    col("liq_e", 2, true),
];

/// Specification of all columns (jediswap block, ekubo block, global block).
pub const COLUMNS: [ColumnSpec; TRACE_WIDTH] = {
    let mut out = [col("", 0, false); TRACE_WIDTH];
    let mut i = 0;
    while i < PROTO_COLS {
        out[i] = PROTO_SPECS[i];
        out[PROTO_COLS + i] = PROTO_SPECS[i];
        i += 1;
    }
    let mut j = 0;
    while j < GLOBAL_SPECS.len() {
        out[R_PCT + j] = GLOBAL_SPECS[j];
        j += 1;
    }
    out
};

// every column must fit in the trace
const _: () = {
    let mut i = 0;
    while i < TRACE_WIDTH {
        assert!(COLUMNS[i].width() < TRACE_LENGTH);
        i += 1;
    }
};

/// Number of relation constraints per protocol and in total.
pub const PROTO_RELATIONS: usize = 16;
pub const NUM_RELATIONS: usize = 2 * PROTO_RELATIONS + 13;

/// Degree (in trace columns) of each relation, in evaluation order.
const PROTO_RELATION_DEGREES: [usize; PROTO_RELATIONS] =
    [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 1, 1];
const GLOBAL_RELATION_DEGREES: [usize; 13] = [1, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1, 2];

// PUBLIC INPUTS
// ================================================================================================

/// The 44 public values. All of them are absorbed into the Fiat-Shamir seed, including the model
/// hash limbs which no constraint uses: a proof is only valid for the hash it was made for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicInputs {
    pub values: [u64; PUBLIC_INPUT_LEN],
}

impl ToElements<BaseElement> for PublicInputs {
    fn to_elements(&self) -> Vec<BaseElement> {
        // bound checks (limbs < 2^63, everything else far smaller) keep these canonical, so two
        // distinct vectors never map to the same seed
        self.values.iter().map(|&v| BaseElement::new(v)).collect()
    }
}

// AIR
// ================================================================================================

/// Field constants of one protocol, derived from the public inputs.
#[derive(Clone, Debug)]
struct ProtoConsts {
    n_util: BaseElement,
    d_util: BaseElement,
    n_vol: BaseElement,
    d_vol: BaseElement,
    n_audit: BaseElement,
    d_audit: BaseElement,
    /// cap - age as a field element (may be "negative").
    cap_minus_age: BaseElement,
    age_w: BaseElement,
    age_o: BaseElement,
    age_d: BaseElement,
    tier: BaseElement,
    vol: BaseElement,
    risk: BaseElement,
    n_alloc: BaseElement,
    d_alloc: BaseElement,
}

pub struct RiskAir {
    context: AirContext<BaseElement>,
    proto: [ProtoConsts; 2],
    liq_points: [BaseElement; 4],
    clamp_min: BaseElement,
    clamp_max: BaseElement,
    pct: [BaseElement; 2],
    max_single: BaseElement,
    min_div: BaseElement,
    max_vol: BaseElement,
    min_liq: BaseElement,
    mask: BaseElement,
}

fn fe(v: u64) -> BaseElement {
    BaseElement::new(v)
}

impl RiskAir {
    fn proto_consts(pi: &[u64; PUBLIC_INPUT_LEN], p: usize) -> ProtoConsts {
        let prm = &pi[PI_PARAMS..PI_PARAMS + NUM_PARAMS];
        let base = if p == 0 { PI_JEDI } else { PI_EKUBO };
        let m = &pi[base..base + NUM_METRICS];
        let apy = pi[PI_APY_JEDI + p];
        let risk = pi[PI_RISK_JEDI + p];
        // products of bound-checked public values: all < 2^34, no u64 overflow
        ProtoConsts {
            n_util: fe(m[M_UTIL] * prm[P_UTIL_W] + prm[P_UTIL_O]),
            d_util: fe(prm[P_UTIL_D]),
            n_vol: fe(m[M_VOL] * prm[P_VOL_W] + prm[P_VOL_O]),
            d_vol: fe(prm[P_VOL_D]),
            n_audit: fe((MAX_AUDIT - m[M_AUDIT]) * prm[P_AUDIT_W] + prm[P_AUDIT_O]),
            d_audit: fe(prm[P_AUDIT_D]),
            cap_minus_age: fe(prm[P_AGE_CAP]) - fe(m[M_AGE]),
            age_w: fe(prm[P_AGE_W]),
            age_o: fe(prm[P_AGE_O]),
            age_d: fe(prm[P_AGE_D]),
            tier: fe(m[M_LIQ]),
            vol: fe(m[M_VOL]),
            risk: fe(risk),
            n_alloc: fe(apy * BPS),
            d_alloc: fe(risk + 1),
        }
    }

    /// Evaluates the 45 relations on the last transition's frame (`cur` = row 62,
    /// `nxt` = row 63). All are zero for a valid trace.
    pub fn relations<E: FieldElement + From<BaseElement>>(
        &self,
        cur: &[E],
        nxt: &[E],
        out: &mut [E],
    ) {
        let val = |c: usize| if COLUMNS[c].flag { cur[c] } else { nxt[c] };
        let flag = |c: usize| nxt[c] - cur[c].double();
        let k = |x: BaseElement| E::from(x);
        let one = E::ONE;
        // slack relation for f = [x > y]: slack = f ? x-y-1 : y-x = (y-x) - f*(2(y-x)+1)
        let gt = |slack: E, f: E, x: E, y: E| {
            let diff = y - x;
            slack - diff + f * (diff.double() + one)
        };

        let mut i = 0;
        let mut push = |v: E| {
            out[i] = v;
            i += 1;
        };

        for (p, pc) in self.proto.iter().enumerate() {
            let c = |j: usize| p * PROTO_COLS + j;
            let (q_u, r_u, s_u) = (val(c(Q_UTIL)), val(c(R_UTIL)), val(c(S_UTIL)));
            let (q_v, r_v, s_v) = (val(c(Q_VOL)), val(c(R_VOL)), val(c(S_VOL)));
            let (q_a, r_a, s_a) = (val(c(Q_AUDIT)), val(c(R_AUDIT)), val(c(S_AUDIT)));
            let (q_g, r_g, s_g) = (val(c(Q_AGE)), val(c(R_AGE)), val(c(S_AGE)));
            let (age_slack, age_gt) = (val(c(AGE_CMP)), flag(c(AGE_CMP)));
            let sel = [
                flag(c(Q_UTIL)),
                flag(c(Q_VOL)),
                flag(c(Q_AUDIT)),
                flag(c(Q_AGE)),
            ];
            let (lo_slack, lo) = (val(c(CLAMP_LO)), flag(c(CLAMP_LO)));
            let (hi_slack, hi) = (val(c(CLAMP_HI)), flag(c(CLAMP_HI)));
            let (q_al, r_al, s_al) = (val(c(Q_ALLOC)), val(c(R_ALLOC)), val(c(S_ALLOC)));

            // floor divisions: r = n - q*d, s = d - 1 - r
            push(r_u + q_u * k(pc.d_util) - k(pc.n_util));
            push(s_u + r_u + one - k(pc.d_util));
            push(r_v + q_v * k(pc.d_vol) - k(pc.n_vol));
            push(s_v + r_v + one - k(pc.d_vol));
            push(r_a + q_a * k(pc.d_audit) - k(pc.n_audit));
            push(s_a + r_a + one - k(pc.d_audit));
            // min(age, cap): flag = [age > cap]; cap - min(age, cap) = (1 - flag) * (cap - age)
            let cap_minus_age = k(pc.cap_minus_age);
            // (x, y) = (age - cap, 0), so y - x = cap - age
            push(gt(age_slack, age_gt, E::ZERO, cap_minus_age));
            let n_age = (one - age_gt) * cap_minus_age * k(pc.age_w) + k(pc.age_o);
            push(r_g + q_g * k(pc.age_d) - n_age);
            push(s_g + r_g + one - k(pc.age_d));
            // one-hot liquidity selector
            push(sel[0] + sel[1] + sel[2] + sel[3] - one);
            push(sel[1] + sel[2].double() + sel[3] * E::from(3u32) - k(pc.tier));
            let t_liq = sel
                .iter()
                .zip(self.liq_points.iter())
                .fold(E::ZERO, |acc, (&s, &pts)| acc + s * k(pts));
            let sum = q_u + q_v + t_liq + q_a + q_g;
            // clamp: lo = [S < min] = [min > S], hi = [S > max]
            push(gt(lo_slack, lo, k(self.clamp_min), sum));
            push(gt(hi_slack, hi, sum, k(self.clamp_max)));
            push(
                lo * k(self.clamp_min) + hi * k(self.clamp_max) + (one - lo - hi) * sum
                    - k(pc.risk),
            );
            // allocation weight: apy*10000 = q*(risk+1) + r
            push(r_al + q_al * k(pc.d_alloc) - k(pc.n_alloc));
            push(s_al + r_al + one - k(pc.d_alloc));
        }

        // percentages: 10000*a_j = pct_j*(a_j+a_e) + r and pct_e*(a_j+a_e) = 10000*a_e + r
        let a_j = val(Q_ALLOC);
        let a_e = val(PROTO_COLS + Q_ALLOC);
        let total = a_j + a_e;
        let bps = E::from(BPS as u32);
        let (r_p, s_p) = (val(R_PCT), val(S_PCT));
        let (pct_j, pct_e) = (k(self.pct[0]), k(self.pct[1]));
        push(r_p + pct_j * total - bps * a_j);
        push(r_p + bps * a_e - pct_e * total);
        push(s_p + r_p + one - total);

        // policy comparisons
        let max_single = k(self.max_single);
        let div_floor = E::from((DIVERSIFICATION_PCT - 1) as u32);
        let (c1, c2) = (flag(MAXS_J), flag(MAXS_E));
        push(gt(val(MAXS_J), c1, pct_j, max_single));
        push(gt(val(MAXS_E), c2, pct_e, max_single));
        let (c3, c4) = (flag(DIV_J), flag(DIV_E));
        push(gt(val(DIV_J), c3, pct_j, div_floor));
        push(gt(val(DIV_E), c4, pct_e, div_floor));
        let under_div = flag(DIV_CNT);
        push(gt(val(DIV_CNT), under_div, k(self.min_div), c3 + c4));
        let (c5, c6) = (flag(VOL_J), flag(VOL_E));
        push(gt(val(VOL_J), c5, k(self.proto[0].vol), k(self.max_vol)));
        push(gt(val(VOL_E), c6, k(self.proto[1].vol), k(self.max_vol)));
        let (c7, c8) = (flag(LIQ_J), flag(LIQ_E));
        push(gt(val(LIQ_J), c7, k(self.proto[0].tier), k(self.min_liq)));
        push(gt(val(LIQ_E), c8, k(self.proto[1].tier), k(self.min_liq)));

        // mask: each bit is an OR of binary flags (a + b - ab), so the sum decodes uniquely
        let or = |a: E, b: E| a + b - a * b;
        push(
            or(c1, c2)
                + under_div.double()
                + or(c5, c6) * E::from(4u32)
                + or(c7, c8) * E::from(8u32)
                - k(self.mask),
        );
        debug_assert_eq!(i, NUM_RELATIONS);
    }
}

/// Periodic selector: 1 on the transition from row 62 to row 63, 0 elsewhere.
pub fn last_transition_selector() -> Vec<BaseElement> {
    let mut s = vec![BaseElement::ZERO; TRACE_LENGTH];
    s[LAST_STEP - 1] = BaseElement::ONE;
    s
}

impl Air for RiskAir {
    type BaseField = BaseElement;
    type PublicInputs = PublicInputs;

    /// The caller (prover or verifier) must have checked the public inputs against the model
    /// bounds and the trace shape against [TRACE_WIDTH] / [TRACE_LENGTH].
    fn new(trace_info: TraceInfo, pub_inputs: PublicInputs, options: ProofOptions) -> Self {
        assert_eq!(
            trace_info.main_trace_width(),
            TRACE_WIDTH,
            "unexpected trace width"
        );
        assert_eq!(trace_info.length(), TRACE_LENGTH, "unexpected trace length");
        assert!(!trace_info.is_multi_segment(), "unexpected auxiliary trace");

        let mut degrees = vec![TransitionConstraintDegree::new(2); TRACE_WIDTH];
        for d in PROTO_RELATION_DEGREES
            .iter()
            .chain(PROTO_RELATION_DEGREES.iter())
            .chain(GLOBAL_RELATION_DEGREES.iter())
        {
            degrees.push(TransitionConstraintDegree::with_cycles(
                *d,
                vec![TRACE_LENGTH],
            ));
        }
        debug_assert_eq!(degrees.len(), TRACE_WIDTH + NUM_RELATIONS);

        let pi = &pub_inputs.values;
        let prm = &pi[PI_PARAMS..PI_PARAMS + NUM_PARAMS];
        let pol = &pi[PI_POLICY..PI_POLICY + 4];
        RiskAir {
            context: AirContext::new(trace_info, degrees, TRACE_WIDTH, options),
            proto: [Self::proto_consts(pi, 0), Self::proto_consts(pi, 1)],
            liq_points: core::array::from_fn(|i| fe(prm[P_LIQ_PTS + i])),
            clamp_min: fe(prm[P_CLAMP_MIN]),
            clamp_max: fe(prm[P_CLAMP_MAX]),
            pct: [fe(pi[PI_PCT_JEDI]), fe(pi[PI_PCT_EKUBO])],
            max_single: fe(pol[POL_MAX_SINGLE]),
            min_div: fe(pol[POL_MIN_DIV]),
            max_vol: fe(pol[POL_MAX_VOL]),
            min_liq: fe(pol[POL_MIN_LIQ]),
            mask: fe(pi[PI_MASK]),
        }
    }

    fn context(&self) -> &AirContext<Self::BaseField> {
        &self.context
    }

    fn evaluate_transition<E: FieldElement + From<Self::BaseField>>(
        &self,
        frame: &EvaluationFrame<E>,
        periodic_values: &[E],
        result: &mut [E],
    ) {
        let cur = frame.current();
        let nxt = frame.next();

        // bit constraints on every transition: acc' - 2*acc is 0 or 1
        for c in 0..TRACE_WIDTH {
            let b = nxt[c] - cur[c].double();
            result[c] = b * (b - E::ONE);
        }

        // relations, enforced on the last transition only
        let last = periodic_values[0];
        let (_, rel) = result.split_at_mut(TRACE_WIDTH);
        self.relations(cur, nxt, rel);
        for r in rel.iter_mut() {
            *r *= last;
        }
    }

    fn get_assertions(&self) -> Vec<Assertion<Self::BaseField>> {
        // each accumulator starts from zero exactly `width` steps before the last row, so its
        // last-row value has at most `width` bits
        COLUMNS
            .iter()
            .enumerate()
            .map(|(c, spec)| Assertion::single(c, LAST_STEP - spec.width(), BaseElement::ZERO))
            .collect()
    }

    fn get_periodic_column_values(&self) -> Vec<Vec<Self::BaseField>> {
        vec![last_transition_selector()]
    }
}
