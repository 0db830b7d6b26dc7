import pytest

from allocations.models import AllocationDecision, MetricsSnapshot

from .conftest import SEPOLIA_METRICS

pytestmark = pytest.mark.django_db


def test_published_example_scores_44_and_34_with_model_1_0_0(api, decision_body):
    response = api.post("/risk-engine/score", decision_body(model_version="1.0.0"))
    assert response.status_code == 200
    body = response.json()
    assert (body["jediswap_score"], body["ekubo_score"]) == (44, 34)
    assert body["model_version"] == "1.0.0"


def test_sepolia_example_reproduces_upstream_figures_with_model_2_0_0(api, decision_body):
    body = decision_body(model_version="2.0.0", jediswap_metrics=SEPOLIA_METRICS, ekubo_metrics=SEPOLIA_METRICS)
    answer = api.post("/risk-engine/score", body).json()
    assert answer | {"model_hash": None} == {
        "model_version": "2.0.0",
        "model_hash": None,
        "policy": "sepolia",
        "jediswap_score": 33,
        "ekubo_score": 33,
        "jediswap_pct": 4126,
        "ekubo_pct": 5874,
        "constraints_passed": True,
        "violations": [],
    }


def test_default_model_is_the_current_version(api, decision_body, current_version):
    assert api.post("/risk-engine/score", decision_body()).json()["model_hash"] == current_version.model_hash


def test_response_names_the_rule_a_split_breaks(api, decision_body):
    answer = api.post("/risk-engine/score", decision_body(model_version="1.0.0")).json()
    assert (answer["ekubo_pct"], answer["constraints_passed"], answer["violations"]) == (6467, False, ["max_single"])


def test_a_named_policy_preset_applies_all_four_rules(api, decision_body):
    answer = api.post("/risk-engine/score", decision_body(policy="conservative")).json()
    assert answer["policy"] == "conservative"
    assert answer["violations"] == ["max_single", "min_liquidity"]


@pytest.mark.parametrize(
    "metric, value",
    [
        ("utilization", 10_001),
        ("volatility", -1),
        ("liquidity", 4),
        ("audit_score", 101),
        ("age_days", 10**30),
        ("utilization", 12.5),
        ("utilization", "6500"),
        ("audit_score", None),
        ("liquidity", True),
    ],
)
def test_bad_metric_gets_422_naming_the_field(api, decision_body, metric, value):
    body = decision_body()
    body["ekubo_metrics"][metric] = value
    response = api.post("/risk-engine/score", body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-2:] == ["ekubo_metrics", metric]


def test_missing_metric_gets_422_naming_the_field(api, decision_body):
    body = decision_body()
    del body["jediswap_metrics"]["age_days"]
    response = api.post("/risk-engine/score", body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-2:] == ["jediswap_metrics", "age_days"]


def test_unknown_field_is_refused_rather_than_ignored(api, decision_body):
    response = api.post("/risk-engine/score", decision_body(apy={"jediswap": 1}))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == "apy"


def test_zero_apy_gets_422(api, decision_body):
    response = api.post("/risk-engine/score", decision_body(apys={"jediswap": 0, "ekubo": 1210}))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-2:] == ["apys", "jediswap"]


def test_unknown_model_version_is_404(api, decision_body):
    response = api.post("/risk-engine/score", decision_body(model_version="9.9.9"))
    assert response.status_code == 404
    assert response.json() == {"detail": "unknown model version '9.9.9'"}


def test_unknown_policy_is_404(api, decision_body):
    response = api.post("/risk-engine/score", decision_body(policy="yolo"))
    assert (response.status_code, response.json()) == (404, {"detail": "unknown policy 'yolo'"})


def test_scoring_stores_nothing(api, decision_body):
    api.post("/risk-engine/score", decision_body())
    api.post("/risk-engine/score", decision_body(model_version="9.9.9"))
    assert not AllocationDecision.objects.exists() and not MetricsSnapshot.objects.exists()


def test_openapi_schema_documents_the_score_endpoint(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/risk-engine/score" in schema["paths"]
    assert client.get("/api/v1/docs").status_code == 200
