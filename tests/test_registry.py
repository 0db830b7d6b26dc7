import pytest
from django.db import IntegrityError, transaction
from django.test import Client

from allocations import risk
from allocations.services import decision_create, decision_inputs_resolve
from registry.models import ModelVersion, ModelVersionInUse
from registry.services import model_version_activate

from .conftest import PUBLISHED_EKUBO, PUBLISHED_JEDISWAP, V1_ELEMENTS, V2_ELEMENTS

pytestmark = pytest.mark.django_db

NEW_PARAMS = risk.ModelParams.from_elements([30, 10000, 0, 30, 10000, 0, 0, 5, 10, 20, 2, 10, 0, 365, 5, 365, 0, 0, 100])


def register_body(**overrides):
    return {"version": "3.0.0", "parameters": NEW_PARAMS.model_dump(mode="json"), "description": "test"} | overrides


def test_migration_ships_both_published_formulas_with_their_hashes():
    shipped = {mv.version: mv for mv in ModelVersion.objects.all()}
    for version, elements in (("1.0.0", V1_ELEMENTS), ("2.0.0", V2_ELEMENTS)):
        params = risk.ModelParams.from_elements(elements)
        assert shipped[version].params == params
        assert shipped[version].model_hash == f"0x{risk.model_hash(params):064x}"
    assert ModelVersion.objects.get(is_current=True).version == "1.0.0"


def test_activation_leaves_exactly_one_current_version():
    model_version_activate(version="2.0.0")
    assert list(ModelVersion.objects.filter(is_current=True).values_list("version", flat=True)) == ["2.0.0"]


def test_database_refuses_a_second_current_version():
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersion.objects.filter(version="2.0.0").update(is_current=True)


def test_a_version_used_by_a_decision_can_be_neither_edited_nor_deleted(current_version):
    decision_create(
        inputs=decision_inputs_resolve(
            jediswap=risk.ProtocolMetrics(**PUBLISHED_JEDISWAP), ekubo=risk.ProtocolMetrics(**PUBLISHED_EKUBO)
        )
    )
    current_version.description = "changed"
    with pytest.raises(ModelVersionInUse):
        current_version.save()
    with pytest.raises(ModelVersionInUse):
        current_version.delete()
    assert ModelVersion.objects.get(pk=current_version.pk).description != "changed"


def test_current_and_history_and_version_endpoints(api):
    assert api.get("/model-registry/current").json()["version"] == "1.0.0"
    assert [v["version"] for v in api.get("/model-registry/history").json()] == ["2.0.0", "1.0.0"]
    detail = api.get("/model-registry/version/2.0.0").json()
    assert detail["parameters"]["liquidity_points"] == [0, 5, 15, 30]
    assert api.get("/model-registry/version/7.7.7").status_code == 404


def test_register_without_credentials_is_401(api):
    assert api.post("/model-registry/register", register_body()).status_code == 401
    assert api.post("/model-registry/register", register_body(), Authorization="Bearer nope").status_code == 401


@pytest.mark.parametrize("path", ["/api/v1/model-registry/register", "/api/v1/risk-engine/execute-allocation"])
def test_staff_endpoints_answer_401_without_credentials_even_with_csrf_checks_on(path, staff_user):
    browser = Client(enforce_csrf_checks=True)  # as a real client: no cookie, no CSRF token
    assert browser.post(path, {}, content_type="application/json").status_code == 401
    browser.force_login(staff_user)  # a session cookie without its CSRF token is still refused
    response = browser.post(path, {}, content_type="application/json")
    assert response.status_code == 403 and "CSRF" in response.content.decode()


def test_register_by_a_non_staff_session_is_403(api, client, plain_user):
    client.force_login(plain_user)
    assert api.post("/model-registry/register", register_body()).status_code == 403


def test_register_by_a_non_staff_token_is_403(api, plain_user):
    from .conftest import make_token

    response = api.post("/model-registry/register", register_body(), Authorization=f"Bearer {make_token(plain_user)}")
    assert response.status_code == 403


def test_staff_token_registers_and_activates_a_version(api, staff_token):
    response = api.post(
        "/model-registry/register", register_body(activate=True), Authorization=f"Bearer {staff_token}"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["model_hash"] == f"0x{risk.model_hash(NEW_PARAMS):064x}"
    assert (body["registered_by"], body["is_current"]) == ("auditor", True)
    assert api.get("/model-registry/current").json()["version"] == "3.0.0"


def test_staff_session_registers_a_version(api, client, staff_user):
    client.force_login(staff_user)
    assert api.post("/model-registry/register", register_body()).status_code == 201


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"version": "1.0.0"}, "version"),
        ({"version": "three"}, "version"),
        ({"parameters": risk.ModelParams.from_elements(V2_ELEMENTS).model_dump(mode="json")}, "parameters"),
    ],
)
def test_register_refuses_duplicates_and_bad_versions_with_422(api, staff_token, overrides, field):
    response = api.post("/model-registry/register", register_body(**overrides), Authorization=f"Bearer {staff_token}")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", field]
    assert ModelVersion.objects.count() == 2


def test_register_refuses_invalid_parameters_naming_the_field(api, staff_token):
    body = register_body()
    body["parameters"]["age"]["offset"] = body["parameters"]["age"]["divisor"]
    response = api.post("/model-registry/register", body, Authorization=f"Bearer {staff_token}")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-2:] == ["parameters", "age"]
