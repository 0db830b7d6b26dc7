"""The production command, scripts/serve: gunicorn with production settings, as an operator runs it.

Static files with hashed names from WhiteNoise, the security headers and cookies behind a TLS proxy,
`check --deploy` clean, a database outage answered 503 with nothing half-written, oversized requests
refused unread, and a clean stop on SIGTERM.
"""

import re
import socket
import subprocess
import sys
import time
from contextlib import ExitStack

import httpx
import pytest

from allocations.models import AllocationDecision
from tests.production_server import ROOT, production_env, production_server
from tests.tcp_forwarder import TcpForwarder

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

CSP = {
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
    "font-src 'self'", "object-src 'none'", "base-uri 'self'", "form-action 'self'", "frame-ancestors 'none'",
}


@pytest.fixture(scope="module")
def _module_server(tmp_path_factory):
    with ExitStack() as stack:
        started = []

        def get():
            if not started:
                started.append(stack.enter_context(production_server(tmp_path_factory.mktemp("serve"), "--no-worker")))
            return started[0]

        yield get


@pytest.fixture
def server(_module_server, transactional_db):
    """One server for the module, started in the first test that needs it: by then the seed rows are back,
    so its `migrate` creates no content types of its own that the next restore would collide with."""
    return _module_server()


def check_deploy(tmp_path, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=production_env(tmp_path, **env), capture_output=True, text=True,
    )


def test_check_deploy_is_clean_in_production_settings(tmp_path):
    checked = check_deploy(tmp_path)

    assert checked.returncode == 0, checked.stderr
    assert "System check identified no issues" in checked.stdout


@pytest.mark.parametrize(
    "unsafe, warning",
    [({"HTTPS": "false"}, "security.W004"), ({"DEBUG": "true"}, "security.W018"), ({"SECRET_KEY": "short"}, "security.W009")],
)
def test_check_deploy_names_what_is_unsafe(tmp_path, unsafe, warning):
    checked = check_deploy(tmp_path, **unsafe)

    assert checked.returncode != 0 and warning in checked.stderr


def test_pages_link_static_files_by_hashed_name_served_with_long_caching(server):
    with server.client() as client:
        page = client.get("/").text
        stylesheet = re.search(r'href="(/static/css/obsqra\.[0-9a-f]{12}\.css)"', page).group(1)
        htmx = re.search(r'src="(/static/vendor/htmx\.min\.[0-9a-f]{12}\.js)"', page).group(1)
        css = client.get(stylesheet, headers={"Accept-Encoding": "gzip"})
        script = client.get(htmx)

    assert css.status_code == 200 and css.headers["Content-Type"].startswith("text/css")
    assert css.headers["Content-Encoding"] == "gzip"
    assert "immutable" in css.headers["Cache-Control"] and "max-age=315360000" in css.headers["Cache-Control"]
    assert script.status_code == 200 and b"htmx" in script.content


def test_the_api_docs_load_their_own_copy_of_swagger_ui(server):
    with server.client() as client:
        docs = client.get("/api/v1/docs").text
        assets = re.findall(r'(?:src|href)="([^"]+)"', docs)

    assert any("swagger-ui-bundle" in asset for asset in assets)
    assert all(asset.startswith("/static/") for asset in assets), assets


def test_pages_carry_hsts_csp_and_the_other_security_headers(server):
    with server.client() as client:
        answer = client.get("/")

    assert answer.status_code == 200
    assert answer.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert set(answer.headers["Content-Security-Policy"].split("; ")) == CSP
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["Referrer-Policy"] == "same-origin"


def test_plain_http_is_redirected_to_https_but_health_probes_are_not(server):
    plain = httpx.Client(base_url=server.url, timeout=20)

    page = plain.get("/proofs/")
    probe = plain.get("/health")

    assert page.status_code == 301 and page.headers["Location"] == f"{server.https_origin}/proofs/"
    assert probe.status_code in (200, 503) and probe.headers["Content-Type"] == "application/json"


def test_cookies_are_secure_and_the_session_cookie_http_only(server, staff_user):
    with server.client() as client:
        login_form = client.get("/admin/login/")
        csrf_cookie = login_form.headers["Set-Cookie"]
        csrf_token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_form.text).group(1)
        # httpx keeps Secure cookies for https only, and this leg (proxy -> us) is plain HTTP: send it by hand
        logged_in = client.post(
            "/admin/login/?next=/admin/",
            data={"username": "auditor", "password": "pw-auditor-1", "csrfmiddlewaretoken": csrf_token},
            headers={
                "Referer": f"{server.https_origin}/admin/login/",
                "Cookie": csrf_cookie.split(";")[0],
            },
        )

    assert logged_in.status_code == 302, logged_in.text
    session_cookie = next(c for c in logged_in.headers.get_list("Set-Cookie") if c.startswith("sessionid="))
    assert "; Secure" in csrf_cookie
    assert "; Secure" in session_cookie and "; HttpOnly" in session_cookie


def test_a_refused_csrf_check_is_a_branded_403(server):
    with server.client() as client:
        refused = client.post("/admin/login/", data={"username": "auditor", "password": "x"})

    assert refused.status_code == 403
    assert "site-header" in refused.text and "CSRF" in refused.text


def test_a_declared_body_over_the_cap_is_refused_before_it_is_sent(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(
            b"POST /api/v1/proofs/verify HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-Proto: https\r\n"
            b"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 50000000\r\n\r\n"
        )
        started = time.monotonic()
        head = connection.recv(4096)

    assert head.startswith(b"HTTP/1.1 413 ")
    assert b"application/json" in head and time.monotonic() - started < 5


def test_unknown_pages_get_the_branded_404_and_unknown_api_paths_json(server):
    with server.client() as client:
        page = client.get("/no/such/page")
        api = client.get("/api/v1/no-such-thing")

    assert page.status_code == 404 and "site-header" in page.text and "Not found" in page.text
    assert "Traceback" not in page.text and "urlpatterns" not in page.text
    assert api.status_code == 404 and api.json()["detail"]


def test_a_database_outage_answers_503_and_writes_nothing(tmp_path, decision_body):
    from django.conf import settings

    database = settings.DATABASES["default"]
    forwarder = TcpForwarder((database["HOST"], int(database["PORT"])))
    url = f"postgres://{database['USER']}:{database['PASSWORD']}@127.0.0.1:{forwarder.port}/{database['NAME']}"
    with production_server(tmp_path, "--no-worker", DATABASE_URL=url) as server, server.client() as client:
        assert client.get("/api/v1/proofs").status_code == 200
        forwarder.cut()

        api = client.get("/api/v1/proofs")
        page = client.get("/")
        write = client.post("/api/v1/risk-engine/orchestrate-allocation", json=decision_body())

        forwarder.restore()
        recovered = client.get("/api/v1/proofs")

    assert (api.status_code, api.headers["Content-Type"], api.headers["Retry-After"]) == (503, "application/json", "30")
    assert api.json() == {"detail": "the database is unreachable; nothing was changed, try again shortly"}
    assert page.status_code == 503 and "Temporarily unavailable" in page.text and "site-header" in page.text
    assert "Traceback" not in page.text and "OperationalError" not in page.text
    assert write.status_code == 503 and not AllocationDecision.objects.exists()
    assert recovered.status_code == 200


def test_the_web_server_stops_within_ten_seconds_on_sigterm(tmp_path):
    with production_server(tmp_path, "--no-worker") as server:
        seconds = server.stop()

    assert seconds < 10
    assert server.process.returncode == 0
