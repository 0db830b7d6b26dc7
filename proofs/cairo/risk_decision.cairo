// The risk decision statement, in Cairo 0.
//
// It computes exactly allocations.risk.decide(...) and allocations.risk.model_hash(...) and
// writes everything that the decision depends on to the output segment, so that a fact over
// (program hash, output) binds the model, the inputs and the result together:
//
//   [0]      model_hash = poseidon_hash_many([FAMILY_ID, *params])
//   [1..19]  params        (ModelParams.to_elements() order)
//   [20..24] jediswap      (ProtocolMetrics.to_elements() order)
//   [25..29] ekubo         (ProtocolMetrics.to_elements() order)
//   [30..31] apys          (jediswap, ekubo)
//   [32..35] policy        (PolicyTerms.to_elements() order)
//   [36..40] jediswap_score, ekubo_score, jediswap_pct, ekubo_pct, violations
//
// Every bound of the pydantic models in risk.py is asserted with range checks, every floor
// division goes through unsigned_div_rem and every min/max/comparison through is_le, so the
// output is a function of the inputs that the prover cannot bend.
//
// The builtins are exactly those of the recursive_with_poseidon layout, in its order: Integrity's
// Cairo 0 verifier requires main to take every builtin of the layout.
%builtins output pedersen range_check bitwise poseidon

from starkware.cairo.common.alloc import alloc
from starkware.cairo.common.builtin_poseidon.poseidon import poseidon_hash_many
from starkware.cairo.common.cairo_builtins import BitwiseBuiltin, HashBuiltin, PoseidonBuiltin
from starkware.cairo.common.math import assert_le, assert_nn_le, unsigned_div_rem
from starkware.cairo.common.math_cmp import is_le
from starkware.cairo.common.memcpy import memcpy

// allocations.risk.FAMILY_ID as a Cairo short string.
const FAMILY_ID = 'obsqra-risk-affine-floor-v1';
const BPS = 10000;
const DIVERSIFICATION_FLOOR_BPS = 1000;

const PARAM_COUNT = 19;
const METRIC_COUNT = 5;
const POLICY_COUNT = 4;
// params + 2 * metrics + 2 apys + policy.
const INPUT_COUNT = 35;
const RESULT_COUNT = 5;

// Offsets into the input array (which follows FAMILY_ID in the hashed buffer).
const JEDISWAP = 19;
const EKUBO = 24;
const APYS = 29;
const POLICY = 31;

// Asserts lower <= value <= upper (all small non-negative constants or bounded values).
func assert_between{range_check_ptr}(value, lower, upper) {
    assert_nn_le(value - lower, upper - lower);
    return ();
}

func min2{range_check_ptr}(a, b) -> felt {
    let a_le_b = is_le(a, b);
    if (a_le_b == 1) {
        return a;
    }
    return b;
}

func max2{range_check_ptr}(a, b) -> felt {
    let a_le_b = is_le(a, b);
    if (a_le_b == 1) {
        return b;
    }
    return a;
}

// Asserts the bounds of ScaledTerm: weight in [0, 100000], divisor in [1, 1000000],
// offset in [0, 999999] and offset < divisor.
func assert_scaled_term{range_check_ptr}(term: felt*) {
    assert_between(term[0], 0, 100000);
    assert_between(term[1], 1, 1000000);
    assert_between(term[2], 0, 999999);
    assert_le(term[2] + 1, term[1]);
    return ();
}

// ScaledTerm.apply: (x * weight + offset) // divisor.
func apply_term{range_check_ptr}(x, weight, divisor, offset) -> felt {
    let (q, _) = unsigned_div_rem(x * weight + offset, divisor);
    return q;
}

func assert_params{range_check_ptr}(p: felt*) {
    assert_scaled_term(p);  // utilization
    assert_scaled_term(p + 3);  // volatility
    assert_between(p[6], 0, 1000);  // liquidity points, tiers 0..3
    assert_between(p[7], 0, 1000);
    assert_between(p[8], 0, 1000);
    assert_between(p[9], 0, 1000);
    assert_scaled_term(p + 10);  // audit
    assert_between(p[13], 0, 36500);  // age.cap_days
    assert_scaled_term(p + 14);  // age weight, divisor, offset
    assert_between(p[17], 0, 1000);  // clamp_min
    assert_between(p[18], 0, 1000);  // clamp_max
    assert_le(p[17], p[18]);
    return ();
}

func assert_metrics{range_check_ptr}(m: felt*) {
    assert_between(m[0], 0, BPS);  // utilization
    assert_between(m[1], 0, BPS);  // volatility
    assert_between(m[2], 0, 3);  // liquidity tier
    assert_between(m[3], 0, 100);  // audit_score
    assert_between(m[4], 0, 36500);  // age_days
    return ();
}

func assert_policy{range_check_ptr}(policy: felt*) {
    assert_between(policy[0], 0, BPS);  // max_single
    assert_between(policy[1], 0, 2);  // min_diversification (len(PROTOCOLS))
    assert_between(policy[2], 0, BPS);  // max_volatility
    assert_between(policy[3], 0, 3);  // min_liquidity
    return ();
}

// allocations.risk.risk_score. Assumes the bounds above were asserted.
func risk_score{range_check_ptr}(p: felt*, m: felt*) -> felt {
    alloc_locals;
    let utilization = apply_term(m[0], p[0], p[1], p[2]);
    let volatility = apply_term(m[1], p[3], p[4], p[5]);
    // Table lookup by tier: m[2] is asserted to be in [0, 3], so this memory read is one of the
    // four liquidity_points, and the memory argument binds it to the value in the output.
    let liquidity_points = p + 6;
    let liquidity = liquidity_points[m[2]];
    let audit = apply_term(100 - m[3], p[10], p[11], p[12]);
    let capped_age = min2(m[4], p[13]);
    let age = apply_term(p[13] - capped_age, p[14], p[15], p[16]);
    let raw = utilization + volatility + liquidity + audit + age;
    let floored = max2(raw, p[17]);
    let score = min2(floored, p[18]);
    return score;
}

// allocations.risk.allocate: returns (jediswap_pct, ekubo_pct) in bps.
func allocate{range_check_ptr}(jediswap_risk, ekubo_risk, jediswap_apy, ekubo_apy) -> (
    jediswap_pct: felt, ekubo_pct: felt
) {
    alloc_locals;
    let (jediswap_weight, _) = unsigned_div_rem(jediswap_apy * BPS, jediswap_risk + 1);
    let (ekubo_weight, _) = unsigned_div_rem(ekubo_apy * BPS, ekubo_risk + 1);
    let (jediswap_pct, _) = unsigned_div_rem(jediswap_weight * BPS, jediswap_weight + ekubo_weight);
    return (jediswap_pct=jediswap_pct, ekubo_pct=BPS - jediswap_pct);
}

// 1 if a > b, else 0.
func is_gt{range_check_ptr}(a, b) -> felt {
    let a_le_b = is_le(a, b);
    return 1 - a_le_b;
}

// 1 if either flag is set.
func any2(a, b) -> felt {
    if (a + b == 0) {
        return 0;
    }
    return 1;
}

// allocations.risk.policy_violations: a bitmask over POLICY_RULES.
func policy_violations{range_check_ptr}(
    policy: felt*, jediswap: felt*, ekubo: felt*, jediswap_pct, ekubo_pct
) -> felt {
    alloc_locals;
    // Bit 0, max_single: any share above the cap.
    let jediswap_over = is_gt(jediswap_pct, policy[0]);
    let ekubo_over = is_gt(ekubo_pct, policy[0]);
    let max_single = any2(jediswap_over, ekubo_over);
    // Bit 1, min_diversification: fewer protocols hold >= 10% than required.
    let jediswap_holds = is_le(DIVERSIFICATION_FLOOR_BPS, jediswap_pct);
    let ekubo_holds = is_le(DIVERSIFICATION_FLOOR_BPS, ekubo_pct);
    let min_diversification = is_gt(policy[1], jediswap_holds + ekubo_holds);
    // Bit 2, max_volatility: any protocol more volatile than allowed.
    let jediswap_volatile = is_gt(jediswap[1], policy[2]);
    let ekubo_volatile = is_gt(ekubo[1], policy[2]);
    let max_volatility = any2(jediswap_volatile, ekubo_volatile);
    // Bit 3, min_liquidity: any protocol thinner than the allowed tier.
    let jediswap_thin = is_gt(jediswap[2], policy[3]);
    let ekubo_thin = is_gt(ekubo[2], policy[3]);
    let min_liquidity = any2(jediswap_thin, ekubo_thin);
    return max_single + 2 * min_diversification + 4 * max_volatility + 8 * min_liquidity;
}

func main{
    output_ptr: felt*,
    pedersen_ptr: HashBuiltin*,
    range_check_ptr,
    bitwise_ptr: BitwiseBuiltin*,
    poseidon_ptr: PoseidonBuiltin*,
}() {
    alloc_locals;
    // buffer = [FAMILY_ID, *params, *jediswap, *ekubo, *apys, *policy].
    let (local buffer: felt*) = alloc();
    assert buffer[0] = FAMILY_ID;
    let inputs = buffer + 1;
    %{
        # The standard cairo-run --program_input JSON object. (A bootloader re-executing the
        # Cairo PIE runs the stripped program over the PIE's memory: no hint runs there.)
        values = [
            *program_input["params"],
            *program_input["jediswap"],
            *program_input["ekubo"],
            *program_input["apys"],
            *program_input["policy"],
        ]
        assert len(values) == ids.INPUT_COUNT, f"expected {ids.INPUT_COUNT} inputs, got {len(values)}"
        for i, value in enumerate(values):
            memory[ids.inputs + i] = int(value) % PRIME
    %}

    let params = inputs;
    let jediswap = inputs + JEDISWAP;
    let ekubo = inputs + EKUBO;
    let apys = inputs + APYS;
    let policy = inputs + POLICY;

    assert_params(params);
    assert_metrics(jediswap);
    assert_metrics(ekubo);
    assert_between(apys[0], 1, 1000000);
    assert_between(apys[1], 1, 1000000);
    assert_policy(policy);

    let (model_hash) = poseidon_hash_many(n=1 + PARAM_COUNT, elements=buffer);

    let jediswap_score = risk_score(params, jediswap);
    let ekubo_score = risk_score(params, ekubo);
    let (jediswap_pct, ekubo_pct) = allocate(jediswap_score, ekubo_score, apys[0], apys[1]);
    let violations = policy_violations(policy, jediswap, ekubo, jediswap_pct, ekubo_pct);

    assert output_ptr[0] = model_hash;
    memcpy(output_ptr + 1, inputs, INPUT_COUNT);
    let results = output_ptr + 1 + INPUT_COUNT;
    assert results[0] = jediswap_score;
    assert results[1] = ekubo_score;
    assert results[2] = jediswap_pct;
    assert results[3] = ekubo_pct;
    assert results[4] = violations;
    let output_ptr = output_ptr + 1 + INPUT_COUNT + RESULT_COUNT;
    return ();
}
