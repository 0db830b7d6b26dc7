"""The risk family against a straightforward reading of each published formula, over the whole input range."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from allocations import risk

from .conftest import V1_ELEMENTS, V2_ELEMENTS

metrics = st.builds(
    risk.ProtocolMetrics,
    utilization=st.integers(0, 10_000),
    volatility=st.integers(0, 10_000),
    liquidity=st.integers(0, 3),
    audit_score=st.integers(0, 100),
    age_days=st.integers(0, 36_500),
)
apys = st.builds(risk.Apys, jediswap=st.integers(1, 1_000_000), ekubo=st.integers(1, 1_000_000))
policies = st.builds(
    risk.PolicyTerms,
    max_single=st.integers(0, 10_000),
    min_diversification=st.integers(0, 2),
    max_volatility=st.integers(0, 10_000),
    min_liquidity=st.integers(0, 3),
)


def clamp(x, low, high):
    return max(low, min(high, x))


def published_v1(m):
    util = int(m.utilization * 35 / 10000)
    vol = int(m.volatility * 30 / 10000)
    liq = (3 - m.liquidity) * 5
    audit = int((100 - m.audit_score) / 5)
    age = max(0, 10 - int(m.age_days / 100))
    return clamp(util + vol + liq + audit + age, 5, 95)


def published_v2(m):
    age = 0 if m.age_days >= 730 else (730 - m.age_days) * 10 // 730
    raw = m.utilization * 25 // 10000 + m.volatility * 40 // 10000 + [0, 5, 15, 30][m.liquidity]
    return clamp(raw + (100 - m.audit_score) * 3 // 10 + age, 5, 95)


@given(metrics)
def test_v1_parameters_reproduce_the_mvp_formula(m):
    assert risk.risk_score(risk.ModelParams.from_elements(V1_ELEMENTS), m) == published_v1(m)


@given(metrics)
def test_v2_parameters_reproduce_the_onchain_formula(m):
    assert risk.risk_score(risk.ModelParams.from_elements(V2_ELEMENTS), m) == published_v2(m)


@given(st.integers(5, 95), st.integers(5, 95), apys)
def test_allocation_follows_the_upstream_rule_and_sums_to_100_percent(rj, re, a):
    wj, we = a.jediswap * 10000 // (rj + 1), a.ekubo * 10000 // (re + 1)
    assert risk.allocate(rj, re, a) == (wj * 10000 // (wj + we), 10000 - wj * 10000 // (wj + we))


@given(policies, metrics, metrics, st.integers(0, 10_000))
def test_each_policy_rule_sets_its_own_bit(policy, mj, me, pct):
    pcts = (pct, 10_000 - pct)
    mask = risk.policy_violations(policy, (mj, me), pcts)
    assert bool(mask & 1) == (max(pcts) > policy.max_single)
    assert bool(mask & 2) == (sum(p >= 1000 for p in pcts) < policy.min_diversification)
    assert bool(mask & 4) == (max(mj.volatility, me.volatility) > policy.max_volatility)
    assert bool(mask & 8) == (max(mj.liquidity, me.liquidity) > policy.min_liquidity)


def test_violated_rules_are_named_in_rule_order():
    assert risk.violated_rules(0b1010) == ["min_diversification", "min_liquidity"]


def test_params_round_trip_through_the_canonical_order(v2_params):
    assert risk.ModelParams.from_elements(v2_params.to_elements()) == v2_params
    assert len(v2_params.to_elements()) == risk.PARAM_COUNT


def test_model_hash_depends_on_every_parameter(v1_params):
    base = v1_params.to_elements()
    hashes = {risk.model_hash(v1_params)}
    for i in range(risk.PARAM_COUNT):
        changed = list(base)
        changed[i] += 1
        if i in (2, 5, 12, 16):  # an offset must stay below its divisor
            changed[i - 1] += 200
        hashes.add(risk.model_hash(risk.ModelParams.from_elements(changed)))
    assert len(hashes) == risk.PARAM_COUNT + 1


@pytest.mark.parametrize(
    "elements_change, message",
    [
        ({1: 0}, "greater than or equal to 1"),
        ({2: 10_000}, "offset must be smaller than divisor"),
        ({17: 96}, "clamp_min must not exceed clamp_max"),
        ({6: 1001}, "less than or equal to 1000"),
    ],
)
def test_invalid_parameters_are_refused_with_a_reason(elements_change, message):
    elements = list(V1_ELEMENTS)
    for index, value in elements_change.items():
        elements[index] = value
    with pytest.raises(ValidationError, match=message):
        risk.ModelParams.from_elements(elements)


@pytest.mark.parametrize("bad", [1.0, "12", True, None, -1, 10_001, 10**40])
def test_metrics_accept_only_in_range_integers(bad):
    with pytest.raises(ValidationError):
        risk.ProtocolMetrics(utilization=bad, volatility=0, liquidity=0, audit_score=0, age_days=0)
