import json

import pytest

from allocations import risk
from allocations.services import decision_create, decision_inputs_resolve
from registry.models import ModelVersion

from .conftest import PUBLISHED_EKUBO, PUBLISHED_JEDISWAP, V2_ELEMENTS

pytestmark = pytest.mark.django_db

PARAMS = risk.ModelParams.from_elements([20, 10000, 0, 50, 10000, 0, 0, 10, 20, 40, 2, 10, 0, 365, 10, 365, 0, 1, 99])


@pytest.fixture
def admin_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("admin", password="pw-admin-1"))
    return client


def add_version(client, version="4.0.0", parameters=None):
    parameters = PARAMS.model_dump(mode="json") if parameters is None else parameters
    return client.post(
        "/admin/registry/modelversion/add/",
        {"version": version, "description": "from the admin", "parameters": json.dumps(parameters)},
    )


def test_admin_registers_a_version_with_its_hash_and_author(admin_client):
    assert add_version(admin_client).status_code == 302
    created = ModelVersion.objects.get(version="4.0.0")
    assert created.model_hash == f"0x{risk.model_hash(PARAMS):064x}"
    assert (created.registered_by.username, created.is_current) == ("admin", False)


def test_admin_form_shows_the_parameter_error(admin_client):
    bad = PARAMS.model_dump(mode="json") | {"clamp_min": 100, "clamp_max": 5}
    response = add_version(admin_client, parameters=bad)
    assert response.status_code == 200
    assert "clamp_min must not exceed clamp_max" in response.content.decode()
    assert not ModelVersion.objects.filter(version="4.0.0").exists()


def test_admin_form_refuses_a_non_semantic_version(admin_client):
    response = add_version(admin_client, version="latest")
    assert "is not a semantic version" in response.content.decode()


def test_admin_form_refuses_parameters_already_registered(admin_client):
    response = add_version(admin_client, parameters=risk.ModelParams.from_elements(V2_ELEMENTS).model_dump(mode="json"))
    assert "these parameters are already registered as 2.0.0" in response.content.decode()


def test_make_current_action_switches_the_current_version(admin_client):
    target = ModelVersion.objects.get(version="2.0.0")
    admin_client.post(
        "/admin/registry/modelversion/", {"action": "make_current", "_selected_action": [target.pk]}
    )
    assert list(ModelVersion.objects.filter(is_current=True).values_list("version", flat=True)) == ["2.0.0"]


def test_used_version_is_read_only_in_the_admin(admin_client, current_version):
    decision_create(
        inputs=decision_inputs_resolve(
            jediswap=risk.ProtocolMetrics(**PUBLISHED_JEDISWAP), ekubo=risk.ProtocolMetrics(**PUBLISHED_EKUBO)
        )
    )
    url = f"/admin/registry/modelversion/{current_version.pk}/change/"
    admin_client.post(url, {"version": "1.0.1", "description": "x", "parameters": json.dumps(current_version.parameters)})
    assert ModelVersion.objects.get(pk=current_version.pk).version == "1.0.0"
    assert admin_client.post(f"/admin/registry/modelversion/{current_version.pk}/delete/", {"post": "yes"}).status_code == 403


def test_admin_is_staff_only(client, plain_user):
    client.force_login(plain_user)
    assert client.get("/admin/registry/modelversion/add/").status_code == 302
