//! Witness generation, trace building and the winterfell `Prover`.

use winterfell::{
    crypto::{hashers::Blake3_256, DefaultRandomCoin, MerkleTree},
    math::{fields::f64::BaseElement, FieldElement, StarkField},
    matrix::ColMatrix,
    AuxRandElements, CompositionPoly, CompositionPolyTrace, ConstraintCompositionCoefficients,
    DefaultConstraintCommitment, DefaultConstraintEvaluator, DefaultTraceLde, PartitionOptions,
    ProofOptions, Prover, StarkDomain, TraceInfo, TracePolyTable, TraceTable,
};

use crate::air::*;
use crate::model::*;

pub type Hasher = Blake3_256<BaseElement>;
pub type RandomCoin = DefaultRandomCoin<Hasher>;
pub type VectorCommitment = MerkleTree<Hasher>;

// WITNESS
// ================================================================================================

/// One column's witness: its value and (for flagged columns) the flag bit, as signed integers.
/// An honest witness is always in range; a negative or too-wide value can only come from a
/// dishonest prover and is kept as is so tests can show the AIR rejects it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cell {
    pub value: i128,
    pub flag: bool,
}

/// Witness values of all columns, in column order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Witness {
    pub cells: [Cell; TRACE_WIDTH],
}

fn cell(value: i128) -> Cell {
    Cell { value, flag: false }
}

fn flagged(value: i128, flag: bool) -> Cell {
    Cell { value, flag }
}

/// Slack of the comparison `f = [x > y]`: `f ? x-y-1 : y-x`.
fn gt_cell(x: i128, y: i128) -> Cell {
    if x > y {
        flagged(x - y - 1, true)
    } else {
        flagged(y - x, false)
    }
}

/// Division cells (q, r, d-1-r).
fn div_cells(n: i128, d: i128) -> (i128, i128, i128) {
    let (q, r) = (n.div_euclid(d), n.rem_euclid(d));
    (q, r, d - 1 - r)
}

impl Witness {
    /// Computes every column value from a public input vector. Outputs (risk scores, pcts) are
    /// taken from the vector, as the AIR does, so a vector with wrong outputs yields a witness
    /// that fails some relation.
    pub fn from_public(pi: &[u64; PUBLIC_INPUT_LEN]) -> Self {
        let v = |i: usize| pi[i] as i128;
        let prm = |j: usize| v(PI_PARAMS + j);
        let mut cells = [Cell::default(); TRACE_WIDTH];
        let mut alloc = [0i128; 2];

        for (p, alloc_p) in alloc.iter_mut().enumerate() {
            let base = if p == 0 { PI_JEDI } else { PI_EKUBO };
            let m = |j: usize| v(base + j);
            let tier = m(M_LIQ);
            let sel = |t: i128| tier == t;
            let c = &mut cells[p * PROTO_COLS..(p + 1) * PROTO_COLS];

            let (q_u, r_u, s_u) =
                div_cells(m(M_UTIL) * prm(P_UTIL_W) + prm(P_UTIL_O), prm(P_UTIL_D));
            c[Q_UTIL] = flagged(q_u, sel(0));
            c[R_UTIL] = cell(r_u);
            c[S_UTIL] = cell(s_u);
            let (q_v, r_v, s_v) = div_cells(m(M_VOL) * prm(P_VOL_W) + prm(P_VOL_O), prm(P_VOL_D));
            c[Q_VOL] = flagged(q_v, sel(1));
            c[R_VOL] = cell(r_v);
            c[S_VOL] = cell(s_v);
            let (q_a, r_a, s_a) = div_cells(
                (MAX_AUDIT as i128 - m(M_AUDIT)) * prm(P_AUDIT_W) + prm(P_AUDIT_O),
                prm(P_AUDIT_D),
            );
            c[Q_AUDIT] = flagged(q_a, sel(2));
            c[R_AUDIT] = cell(r_a);
            c[S_AUDIT] = cell(s_a);
            let (cap, age) = (prm(P_AGE_CAP), m(M_AGE));
            c[AGE_CMP] = gt_cell(age, cap);
            let (q_g, r_g, s_g) = div_cells(
                (cap - age.min(cap)) * prm(P_AGE_W) + prm(P_AGE_O),
                prm(P_AGE_D),
            );
            c[Q_AGE] = flagged(q_g, sel(3));
            c[R_AGE] = cell(r_g);
            c[S_AGE] = cell(s_g);

            let t_liq = if (0..4).contains(&tier) {
                prm(P_LIQ_PTS + tier as usize)
            } else {
                0
            };
            let sum = q_u + q_v + t_liq + q_a + q_g;
            c[CLAMP_LO] = gt_cell(prm(P_CLAMP_MIN), sum);
            c[CLAMP_HI] = gt_cell(sum, prm(P_CLAMP_MAX));

            let (q_al, r_al, s_al) =
                div_cells(v(PI_APY_JEDI + p) * BPS as i128, v(PI_RISK_JEDI + p) + 1);
            c[Q_ALLOC] = cell(q_al);
            c[R_ALLOC] = cell(r_al);
            c[S_ALLOC] = cell(s_al);
            *alloc_p = q_al;
        }

        let total = alloc[0] + alloc[1];
        let (pct_j, pct_e) = (v(PI_PCT_JEDI), v(PI_PCT_EKUBO));
        let r_p = BPS as i128 * alloc[0] - pct_j * total;
        cells[R_PCT] = cell(r_p);
        cells[S_PCT] = cell(total - 1 - r_p);

        let pol = |j: usize| v(PI_POLICY + j);
        let div_floor = DIVERSIFICATION_PCT as i128 - 1;
        cells[MAXS_J] = gt_cell(pct_j, pol(POL_MAX_SINGLE));
        cells[MAXS_E] = gt_cell(pct_e, pol(POL_MAX_SINGLE));
        cells[DIV_J] = gt_cell(pct_j, div_floor);
        cells[DIV_E] = gt_cell(pct_e, div_floor);
        let count = cells[DIV_J].flag as i128 + cells[DIV_E].flag as i128;
        cells[DIV_CNT] = gt_cell(pol(POL_MIN_DIV), count);
        cells[VOL_J] = gt_cell(v(PI_JEDI + M_VOL), pol(POL_MAX_VOL));
        cells[VOL_E] = gt_cell(v(PI_EKUBO + M_VOL), pol(POL_MAX_VOL));
        cells[LIQ_J] = gt_cell(v(PI_JEDI + M_LIQ), pol(POL_MIN_LIQ));
        cells[LIQ_E] = gt_cell(v(PI_EKUBO + M_LIQ), pol(POL_MIN_LIQ));

        Witness { cells }
    }

    /// Returns the first column whose value does not fit its range check, if any.
    pub fn first_out_of_range(&self) -> Option<usize> {
        self.cells
            .iter()
            .zip(COLUMNS.iter())
            .position(|(c, spec)| c.value < 0 || c.value >= 1i128 << spec.bits)
    }
}

// TRACE
// ================================================================================================

/// Maps a signed integer into the field (negative values wrap, as a cheating prover would).
pub fn to_field(v: i128) -> BaseElement {
    let p = BaseElement::MODULUS as i128;
    BaseElement::new(v.rem_euclid(p) as u64)
}

/// Deterministic pseudo-random bits for padding rows (splitmix64).
fn padding_bits(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) & 1
    }
}

/// Fills one accumulator column for `bits` = the value to accumulate (low `width` bits).
///
/// Rows before the zero row are padding: any values with `acc' - 2*acc` in {0, 1} that reach 0
/// at the zero row. We walk back from 0 with pseudo-random bits instead of leaving zeros so that
/// no constraint polynomial degenerates to a lower degree (winterfell's debug build insists the
/// declared and actual degrees match); the padding carries no meaning.
fn fill_column(column: &mut [BaseElement], c: usize, bits: u64, width: usize) {
    let start = LAST_STEP - width;
    column[start] = BaseElement::ZERO;
    for t in 0..width {
        let b = (bits >> (width - 1 - t)) & 1;
        column[start + t + 1] = column[start + t].double() + BaseElement::new(b);
    }
    let inv_two = BaseElement::new(2).inv();
    let mut rng = padding_bits(c as u64 + 1);
    for i in (0..start).rev() {
        column[i] = (column[i + 1] - BaseElement::new(rng())) * inv_two;
    }
}

/// Builds the execution trace from a witness. Each value is written through its bit
/// decomposition truncated to the column width; an out-of-range value therefore yields a trace
/// whose relations fail (tests rely on this to model a cheating prover).
pub fn build_trace(w: &Witness) -> TraceTable<BaseElement> {
    let mut columns = vec![vec![BaseElement::ZERO; TRACE_LENGTH]; TRACE_WIDTH];
    for (c, (column, (cell, spec))) in columns
        .iter_mut()
        .zip(w.cells.iter().zip(COLUMNS.iter()))
        .enumerate()
    {
        let raw = to_field(cell.value).as_int();
        let bits = if spec.flag {
            (raw << 1) | cell.flag as u64
        } else {
            raw
        };
        fill_column(column, c, bits, spec.width());
    }
    TraceTable::init(columns)
}

// PROVER
// ================================================================================================

pub struct RiskProver {
    options: ProofOptions,
    pub_inputs: PublicInputs,
}

impl RiskProver {
    pub fn new(options: ProofOptions, pub_inputs: PublicInputs) -> Self {
        Self {
            options,
            pub_inputs,
        }
    }
}

impl Prover for RiskProver {
    type BaseField = BaseElement;
    type Air = RiskAir;
    type Trace = TraceTable<BaseElement>;
    type HashFn = Hasher;
    type VC = VectorCommitment;
    type RandomCoin = RandomCoin;
    type TraceLde<E: FieldElement<BaseField = Self::BaseField>> =
        DefaultTraceLde<E, Self::HashFn, Self::VC>;
    type ConstraintCommitment<E: FieldElement<BaseField = Self::BaseField>> =
        DefaultConstraintCommitment<E, Self::HashFn, Self::VC>;
    type ConstraintEvaluator<'a, E: FieldElement<BaseField = Self::BaseField>> =
        DefaultConstraintEvaluator<'a, Self::Air, E>;

    fn get_pub_inputs(&self, _trace: &Self::Trace) -> PublicInputs {
        self.pub_inputs.clone()
    }

    fn options(&self) -> &ProofOptions {
        &self.options
    }

    fn new_trace_lde<E: FieldElement<BaseField = Self::BaseField>>(
        &self,
        trace_info: &TraceInfo,
        main_trace: &ColMatrix<Self::BaseField>,
        domain: &StarkDomain<Self::BaseField>,
        partition_options: PartitionOptions,
    ) -> (Self::TraceLde<E>, TracePolyTable<E>) {
        DefaultTraceLde::new(trace_info, main_trace, domain, partition_options)
    }

    fn build_constraint_commitment<E: FieldElement<BaseField = Self::BaseField>>(
        &self,
        composition_poly_trace: CompositionPolyTrace<E>,
        num_constraint_composition_columns: usize,
        domain: &StarkDomain<Self::BaseField>,
        partition_options: PartitionOptions,
    ) -> (Self::ConstraintCommitment<E>, CompositionPoly<E>) {
        DefaultConstraintCommitment::new(
            composition_poly_trace,
            num_constraint_composition_columns,
            domain,
            partition_options,
        )
    }

    fn new_evaluator<'a, E: FieldElement<BaseField = Self::BaseField>>(
        &self,
        air: &'a Self::Air,
        aux_rand_elements: Option<AuxRandElements<E>>,
        composition_coefficients: ConstraintCompositionCoefficients<E>,
    ) -> Self::ConstraintEvaluator<'a, E> {
        DefaultConstraintEvaluator::new(air, aux_rand_elements, composition_coefficients)
    }
}
