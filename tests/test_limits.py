"""Limits for anonymous load: per-client rates (429 + Retry-After), request sizes (413), admin lockout.

Each test plays the client who wants more than its share: more requests, other addresses, forged
tokens and forwarding headers, bigger bodies, more passwords.
"""

import json
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from allocations.models import AllocationDecision
from proofs.models import ProofJob
from tests.conftest import make_token

pytestmark = pytest.mark.django_db

GENERATE = "/api/v1/proofs/generate"
ORCHESTRATE = "/api/v1/risk-engine/orchestrate-allocation"


@pytest.fixture
def rates(settings):
    """Small rates for the three limited groups: 3 anonymous requests a minute, 5 with a token."""
    settings.RATE_LIMITS = {group: {"anonymous": "3/m", "token": "5/m"} for group in ("prove", "orchestrate", "verify")}


def post_json(client, path, body, **headers):
    return client.post(path, json.dumps(body), content_type="application/json", headers=headers)


def test_an_anonymous_client_gets_429_with_retry_after_beyond_its_rate_and_nothing_is_done(client, rates, decision_body):
    answers = [post_json(client, GENERATE, decision_body()) for _ in range(4)]

    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused.json()["detail"] == f"rate limit of 3/m for anonymous clients reached; retry in {refused['Retry-After']} s"
    assert ProofJob.objects.count() == 3


def test_invalid_bodies_count_too(client, rates):
    """The limit runs before the body is parsed: a flood of bad requests is limited like good ones."""
    answers = [post_json(client, ORCHESTRATE, {"nonsense": True}) for _ in range(4)]

    assert [answer.status_code for answer in answers] == [422, 422, 422, 429]


def test_each_group_and_each_address_has_its_own_count(client, rates, decision_body):
    for _ in range(3):
        post_json(client, GENERATE, decision_body())

    assert post_json(client, GENERATE, decision_body()).status_code == 429
    assert post_json(client, ORCHESTRATE, decision_body()).status_code == 200
    assert post_json(Client(REMOTE_ADDR="198.51.100.7"), GENERATE, decision_body()).status_code == 200


def test_an_api_token_has_its_own_higher_quota(client, rates, decision_body, plain_user):
    for _ in range(3):
        post_json(client, GENERATE, decision_body())
    bearer = {"Authorization": f"Bearer {make_token(plain_user)}"}

    answers = [post_json(client, GENERATE, decision_body(), **bearer) for _ in range(6)]

    assert [answer.status_code for answer in answers] == [200] * 5 + [429]
    assert "for token clients" in answers[-1].json()["detail"]


def test_made_up_tokens_do_not_buy_a_fresh_count(client, rates, decision_body):
    for _ in range(3):
        post_json(client, GENERATE, decision_body())

    forged = [post_json(client, GENERATE, decision_body(), Authorization=f"Bearer forged-{n}") for n in range(3)]

    assert {answer.status_code for answer in forged} == {429}


def test_a_forged_forwarded_for_header_does_not_change_the_client(client, rates, decision_body, settings):
    for _ in range(3):
        post_json(client, GENERATE, decision_body())

    assert post_json(client, GENERATE, decision_body(), **{"X-Forwarded-For": "203.0.113.9"}).status_code == 429


def test_behind_a_proxy_the_address_it_appended_counts_not_what_the_client_wrote(rates, decision_body, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = Client(REMOTE_ADDR="10.0.0.2")
    for _ in range(3):
        post_json(proxy, GENERATE, decision_body(), **{"X-Forwarded-For": "198.51.100.20"})

    spoofed = post_json(proxy, GENERATE, decision_body(), **{"X-Forwarded-For": "203.0.113.9, 198.51.100.20"})
    other_client = post_json(proxy, GENERATE, decision_body(), **{"X-Forwarded-For": "198.51.100.21"})

    assert (spoofed.status_code, other_client.status_code) == (429, 200)


def test_ipv6_clients_count_by_their_slash_64(rates, decision_body):
    for n in range(3):
        post_json(Client(REMOTE_ADDR=f"2001:db8:1:2::{n + 1}"), GENERATE, decision_body())

    same_subnet = post_json(Client(REMOTE_ADDR="2001:db8:1:2:ffff::9"), GENERATE, decision_body())
    other_subnet = post_json(Client(REMOTE_ADDR="2001:db8:1:3::1"), GENERATE, decision_body())

    assert (same_subnet.status_code, other_subnet.status_code) == (429, 200)


def test_verify_uploads_are_limited(client, rates):
    answers = [
        client.post("/api/v1/proofs/verify", {"file": SimpleUploadedFile("p.json", b"{}")}) for _ in range(4)
    ]

    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]


def test_the_schema_says_limited_endpoints_may_answer_429(api):
    paths = api.get("/openapi.json").json()["paths"]

    for path, method in ((GENERATE, "post"), (ORCHESTRATE, "post"), ("/api/v1/proofs/verify", "post")):
        assert "429" in paths[path][method]["responses"]


def test_a_json_body_over_the_cap_is_413_json_and_stores_nothing(client, decision_body, settings):
    body = decision_body(padding="x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE)

    answer = post_json(client, ORCHESTRATE, body)

    assert answer.status_code == 413
    assert answer.json() == {"detail": f"the request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes"}
    assert not AllocationDecision.objects.exists()


def test_a_declared_length_over_the_request_cap_is_refused_unread(client, settings):
    settings.REQUEST_MAX_BYTES = 1000

    answer = client.post("/api/v1/proofs/verify", {"file": SimpleUploadedFile("big.zip", b"\0" * 2000)})

    assert answer.status_code == 413
    assert answer.json() == {"detail": "the request is larger than 1000 bytes"}


def test_a_page_over_the_cap_is_a_branded_413(client, settings):
    settings.REQUEST_MAX_BYTES = 1000

    answer = client.post("/admin/login/", {"username": "x" * 2000})

    assert answer.status_code == 413
    assert b"Request too large" in answer.content and b"site-header" in answer.content


def admin_login(client, username, password):
    return client.post("/admin/login/", {"username": username, "password": password})


def test_admin_login_locks_a_username_out_for_an_address_after_five_wrong_passwords(client, staff_user):
    wrong = [admin_login(client, "auditor", f"guess-{n}") for n in range(5)]
    right_after = admin_login(client, "auditor", "pw-auditor-1")

    # the form again with its error four times; the fifth failure locks
    assert [answer.status_code for answer in wrong] == [200] * 4 + [429]
    assert right_after.status_code == 429
    assert b"Too many failed logins" in right_after.content
    assert "_auth_user_id" not in client.session


def test_a_lockout_does_not_lock_the_admin_out_from_elsewhere(client, staff_user):
    for n in range(5):
        admin_login(client, "auditor", f"guess-{n}")

    elsewhere = admin_login(Client(REMOTE_ADDR="198.51.100.30"), "auditor", "pw-auditor-1")

    assert elsewhere.status_code == 302


def test_a_lockout_ends_after_the_cool_off(client, staff_user, settings):
    from axes.models import AccessAttempt

    for n in range(5):
        admin_login(client, "auditor", f"guess-{n}")
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.first().attempt_time - timedelta(minutes=16))

    assert admin_login(client, "auditor", "pw-auditor-1").status_code == 302
