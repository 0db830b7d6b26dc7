"""Untrusted input at every door: each answers a 4xx naming what is wrong (or `valid: false`), never a 500,
and stores nothing."""

import io
import json
import subprocess
import sys
import zipfile

import pytest

from allocations import risk
from allocations.models import AllocationDecision
from obsqra.paging import MAX_PAGE, MAX_PAGE_SIZE
from proofs import proof_file
from proofs.models import ProofJob
from proofs.statement import PublicInputs, prove
from registry.models import ModelVersion

from .conftest import PUBLISHED_EKUBO, PUBLISHED_JEDISWAP, V1_ELEMENTS
from .test_registry import register_body

pytestmark = pytest.mark.django_db

CONTROL_CHARACTERS = ["\x00", "\x07", "\x1b", "\x7f", "\x85"]
BIGINT = 2**63 - 1
DEEP = 100_000
LONG_DIGITS = "9" * 10_000


def error_locs(response) -> list[list]:
    return [error["loc"] for error in response.json()["detail"]]


# Control characters in every kind of field


@pytest.mark.parametrize("char", CONTROL_CHARACTERS)
@pytest.mark.parametrize("field", ["policy", "model_version"])
def test_a_control_character_in_a_decision_field_is_422_naming_it(api, decision_body, field, char):
    response = api.post("/risk-engine/orchestrate-allocation", decision_body(**{field: f"sepolia{char}"}))
    assert response.status_code == 422
    assert error_locs(response) == [["body", "payload", field]]
    assert not AllocationDecision.objects.exists() and not ProofJob.objects.exists()


@pytest.mark.parametrize("field", ["version", "description"])
def test_a_nul_in_a_registered_version_is_422_naming_the_field(api, staff_token, field):
    body = register_body(**{field: "3.0.0\x00"})
    response = api.post("/model-registry/register", body, Authorization=f"Bearer {staff_token}")
    assert response.status_code == 422
    assert error_locs(response) == [["body", "payload", field]]
    assert not ModelVersion.objects.filter(version__startswith="3.0.0").exists()


def test_a_description_keeps_its_line_breaks_and_tabs(api, staff_token):
    body = register_body(description="why:\n\tthinner pools weigh more\r\n")
    response = api.post("/model-registry/register", body, Authorization=f"Bearer {staff_token}")
    assert response.status_code == 201, response.json()
    assert ModelVersion.objects.get(version="3.0.0").description == body["description"]


def test_an_identifier_holds_no_whitespace(api, decision_body):
    response = api.post("/risk-engine/score", decision_body(policy="sepolia "))
    assert error_locs(response) == [["body", "payload", "policy"]]


def test_a_nul_in_a_path_parameter_is_422_naming_it(api):
    response = api.get("/model-registry/version/%00")
    assert response.status_code == 422
    assert error_locs(response) == [["path", "version"]]


def test_a_nul_in_a_query_parameter_is_422_naming_it(api):
    response = api.get("/events?contract=0x1%00")
    assert response.status_code == 422
    assert error_locs(response) == [["query", "contract"]]


# Page numbers and sizes


@pytest.mark.parametrize("path", ["/risk-engine/decisions", "/events"])
@pytest.mark.parametrize(
    ("query", "param"),
    [("page=0", "page"), (f"page={MAX_PAGE + 1}", "page"), (f"page={BIGINT}", "page"),
     ("page_size=0", "page_size"), (f"page_size={MAX_PAGE_SIZE + 1}", "page_size"), ("page=%00", "page")],
)  # fmt: skip
def test_a_page_out_of_bounds_is_422_naming_the_parameter(api, path, query, param):
    response = api.get(f"{path}?{query}")
    assert response.status_code == 422
    assert error_locs(response) == [["query", param]]


@pytest.mark.parametrize("path", ["/risk-engine/decisions", "/events"])
def test_the_last_allowed_page_of_the_largest_size_is_an_empty_page(api, path):
    response = api.get(f"{path}?page={MAX_PAGE}&page_size={MAX_PAGE_SIZE}")
    assert response.status_code == 200
    assert response.json()["items"] == []


@pytest.mark.parametrize("path", ["/", "/proofs/", "/proofs/?status=failed"])
@pytest.mark.parametrize("page", [str(BIGINT), "%00", "-1", "1e400"])
def test_a_page_with_a_silly_page_number_is_a_normal_page(client, path, page):
    separator = "&" if "?" in path else "?"
    assert client.get(f"{path}{separator}page={page}").status_code == 200


@pytest.mark.parametrize("query", ["status=%00", "status=failed%1b", "x=%00"])
def test_a_page_with_control_characters_in_its_query_is_a_normal_page(client, query):
    for path in ("/", "/proofs/", "/models/"):
        assert client.get(f"{path}?{query}").status_code == 200


def test_a_decision_number_beyond_bigint_is_404(client, api):
    assert client.get(f"/decisions/{BIGINT + 1}/").status_code == 404
    assert api.get(f"/risk-engine/decision/{BIGINT + 1}").status_code == 404


# Media types


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_a_json_body_sent_as_another_media_type_is_415_and_stores_nothing(client, decision_body, content_type):
    body = json.dumps(decision_body())
    response = client.post("/api/v1/risk-engine/orchestrate-allocation", body, content_type=content_type)
    assert response.status_code == 415
    assert "application/json" in response.json()["detail"]
    assert not AllocationDecision.objects.exists() and not ProofJob.objects.exists()


def test_a_json_body_with_a_charset_is_json(client, decision_body):
    body = json.dumps(decision_body())
    response = client.post("/api/v1/risk-engine/score", body, content_type="application/json; charset=utf-8")
    assert response.status_code == 200


def test_a_multipart_post_to_a_json_endpoint_is_415(client, decision_body):
    response = client.post("/api/v1/risk-engine/score", {"payload": json.dumps(decision_body())})
    assert response.status_code == 415


def test_an_upload_sent_as_json_is_415(client):
    response = client.post("/api/v1/proofs/verify", "{}", content_type="application/json")
    assert response.status_code == 415
    assert "multipart/form-data" in response.json()["detail"]


def test_a_deeply_nested_json_body_is_400(client, settings):
    depth = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 2  # as deep as a body may be (a longer one is 413)
    body = "[" * depth + "]" * depth
    response = client.post("/api/v1/risk-engine/score", body, content_type="application/json")
    assert response.status_code == 400 and response.json()["detail"] == "Cannot parse request body"


def test_a_metric_of_ten_thousand_digits_is_400(client, decision_body):
    body = json.dumps(decision_body()).replace('"age_days": 800', f'"age_days": {LONG_DIGITS}')
    response = client.post("/api/v1/risk-engine/score", body, content_type="application/json")
    assert response.status_code == 400


# Proof files and bundles a verifier is handed

HOSTILE_VALUES = {"nested 100,000 deep": b"[" * DEEP + b"]" * DEEP, "a 10,000-digit integer": LONG_DIGITS.encode()}


@pytest.fixture(scope="module")
def genuine_file() -> bytes:
    policy = risk.PolicyTerms(max_single=6000, min_diversification=2, max_volatility=10000, min_liquidity=3)
    metrics = risk.ProtocolMetrics(**PUBLISHED_JEDISWAP), risk.ProtocolMetrics(**PUBLISHED_EKUBO)
    statement = PublicInputs.for_decision(risk.ModelParams.from_elements(V1_ELEMENTS), *metrics, risk.Apys(), policy)
    return proof_file.encode(statement, prove(statement))


@pytest.fixture(scope="module", params=HOSTILE_VALUES.values(), ids=HOSTILE_VALUES.keys())
def hostile_value(request) -> bytes:
    return request.param


@pytest.fixture(scope="module")
def hostile_file(genuine_file, hostile_value) -> bytes:
    """A genuine proof file whose one score is the hostile value: every other check would pass."""
    assert b'"jediswap_score":44,' in genuine_file
    return genuine_file.replace(b'"jediswap_score":44,', b'"jediswap_score":' + hostile_value + b",")


def upload(client, content: bytes):
    response = client.post("/api/v1/proofs/verify", {"file": io.BytesIO(content)})
    assert response.status_code == 200
    return response.json()


def test_a_hostile_proof_file_is_invalid_with_a_reason(client, hostile_file):
    answer = upload(client, hostile_file)
    assert (answer["valid"], answer["kind"]) == (False, "proof")
    assert answer["reason"].startswith("the proof file is malformed: ")


def zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_a_bundle_with_a_hostile_manifest_is_invalid_naming_the_manifest(client, genuine_file, hostile_value):
    files = {name: b"" for name in ("README.md", "statement.json", "cairo-pie.zip")}
    bundle = zipped({"manifest.json": b'{"format":' + hostile_value + b"}", "proof.json": genuine_file, **files})
    answer = upload(client, bundle)
    assert (answer["valid"], answer["kind"], answer["part"]) == (False, "bundle", "manifest.json")
    assert "malformed" in answer["reason"]


VERIFIER_COMMANDS = {
    "manage.py verify_proof": [sys.executable, "manage.py", "verify_proof"],
    "python -m obsqra_stark": [sys.executable, "-m", "obsqra_stark"],
}


@pytest.mark.parametrize("command", VERIFIER_COMMANDS.values(), ids=VERIFIER_COMMANDS.keys())
def test_a_verifier_command_refuses_a_hostile_file_in_one_line(tmp_path, command, hostile_file):
    path = tmp_path / "hostile.proof.json"
    path.write_bytes(hostile_file)
    result = subprocess.run([*command, str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "INVALID: " in result.stderr and len(result.stderr.strip().splitlines()) == 1


# Unknown API paths


@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v1/risk-engine/nope/deeper", "/api/v2/x", "/api", "/api/"])
def test_an_unknown_api_path_is_a_json_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


def test_an_unknown_page_stays_an_html_404(client):
    response = client.get("/apis")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


# The schema


@pytest.fixture
def openapi(api):
    return api.get("/openapi.json").json()


def test_each_status_enum_has_its_own_schema(openapi, api, decision_body):
    components = openapi["components"]["schemas"]
    decision_status = components["DecisionOut"]["properties"]["status"]
    proof_status = components["ProofJobOut"]["properties"]["status"]
    assert decision_status["enum"] == list(AllocationDecision.Status.values)
    assert proof_status["enum"] == list(ProofJob.Status.values)
    orchestrated = api.post("/risk-engine/orchestrate-allocation", decision_body()).json()
    assert orchestrated["status"] in components["OrchestratedOut"]["properties"]["status"]["enum"]


def _strings(schema: dict, components: dict, where: str):
    """Every string in a request schema, with where it is: (where, schema)."""
    if "$ref" in schema:
        yield from _strings(components[schema["$ref"].rsplit("/", 1)[-1]], components, where)
    for key in ("anyOf", "allOf", "oneOf"):
        for option in schema.get(key, []):
            yield from _strings(option, components, where)
    for name, prop in schema.get("properties", {}).items():
        yield from _strings(prop, components, f"{where}.{name}")
    if "items" in schema:
        yield from _strings(schema["items"], components, f"{where}[]")
    if schema.get("type") == "string":
        yield where, schema


def test_every_string_the_api_reads_is_constrained(openapi):
    components = openapi["components"]["schemas"]
    unconstrained = []
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            inputs = [(f"{p['in']} {p['name']}", p["schema"]) for p in operation.get("parameters", [])]
            for media_type in operation.get("requestBody", {}).get("content", {}).values():
                inputs.append(("body", media_type["schema"]))
            for where, schema in inputs:
                for field, string in _strings(schema, components, f"{method.upper()} {path} {where}"):
                    if not {"pattern", "enum", "format"} & string.keys():
                        unconstrained.append(field)
    assert unconstrained == []
