"""The pages in a real browser: Debian's Chromium driven by Playwright against pytest-django's live server.

`make test` installs Chromium first (scripts/ensure-chromium); Playwright never downloads a browser here.
"""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connections
from django.utils import timezone

from allocations import risk
from allocations.services import decision_inputs_resolve
from proofs.models import ProofJob
from proofs.services import decision_orchestrate

from .conftest import PUBLISHED_EKUBO, PUBLISHED_JEDISWAP, V2_ELEMENTS
from .production_server import free_port, production_server

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
HTMX = ROOT / "static" / "vendor" / "htmx.min.js"
SCREENSHOT = ROOT / "artifacts" / "dashboard.png"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium: `make test` installs it"),
    # The live server sees only committed rows; the migrations' model versions and policies come back each test.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """One headless Chromium for the module, with a fresh profile (--user-data-dir)."""
    if not HTMX.exists():
        pytest.fail(f"{HTMX.relative_to(ROOT)} is missing: run `make install`")
    serialized = {
        c.alias: c._test_serialized_contents for c in connections.all() if hasattr(c, "_test_serialized_contents")
    }
    with pytest.MonkeyPatch.context() as env, playwright_api.sync_playwright() as playwright:
        # Playwright's sync API keeps an event loop running in this thread, which Django takes for async code:
        # the tests' own ORM calls (and the flush after each) are plain sync code all the same. Under that loop
        # Django hands out fresh connection objects, which must carry the serialized seed data to restore it.
        env.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        for alias, contents in serialized.items():
            connections[alias]._test_serialized_contents = contents
        context = playwright.chromium.launch_persistent_context(
            tmp_path_factory.mktemp("chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 900},
            accept_downloads=True,
        )
        yield context
        context.close()
        connections.close_all()  # the connections opened under Playwright's loop, before the loop goes


@pytest.fixture
def page(browser):
    page = browser.new_page()
    page.set_default_timeout(10_000)
    yield page
    page.close()


def proven_decision(model_version: str | None = None):
    return decision_orchestrate(
        inputs=decision_inputs_resolve(
            jediswap=risk.ProtocolMetrics(**PUBLISHED_JEDISWAP),
            ekubo=risk.ProtocolMetrics(**PUBLISHED_EKUBO),
            model_version=model_version,
        )
    )


def test_dashboard_renders_the_demo_decisions(page, live_server):
    call_command("load_demo", count=20, verbosity=0)
    page.goto(live_server.url + "/")
    expect(page.locator("table.decisions tbody tr")).to_have_count(20)
    expect(page.locator("svg.chart")).to_have_count(2)
    expect(page.locator(".stat--generated .stat__value")).to_have_text("20")
    assert page.evaluate("typeof htmx") == "object", "htmx did not load from static/vendor/"
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOT, full_page=True)


def test_badge_turns_verified_without_a_reload_and_stops_polling(page, live_server, settings):
    settings.BADGE_POLL_SECONDS = 1
    decision = proven_decision()
    job = decision.proof_job
    badge_answers = []
    page.on("response", lambda r: badge_answers.append(r.status) if r.url.endswith(f"/{job.pk}/badge") else None)
    page.goto(f"{live_server.url}/decisions/{decision.pk}/")
    badge = page.locator(f'.proof-box a.badge[href="/proofs/{job.pk}/"]')
    expect(badge).to_have_attribute("data-status", "generated")
    deadline = time.monotonic() + 5
    while not badge_answers and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    assert badge_answers and set(badge_answers) == {200}, "a generated job's badge polls"
    page.evaluate("window.sameDocument = true")

    # Test setup standing in for the verifier: the app itself only moves jobs through proofs.services.
    ProofJob.objects.filter(pk=job.pk).update(status=ProofJob.Status.VERIFIED, verified_at=timezone.now())

    expect(badge).to_have_attribute("data-status", "verified", timeout=5_000)
    assert badge.evaluate("el => el.hasAttribute('hx-trigger')") is False
    assert page.evaluate("window.sameDocument") is True, "the page was not reloaded"
    assert badge_answers[-1] == 286
    answered = len(badge_answers)
    page.wait_for_timeout(3_000)  # three poll intervals
    assert len(badge_answers) == answered, "polling stopped once the job was final"


def test_proof_list_filters_by_status_in_place(page, live_server):
    ProofJob.objects.bulk_create(ProofJob(status=s) for s in ("failed", "failed", "verified", "timeout"))
    page.goto(live_server.url + "/proofs/")
    rows = page.locator("table.proofs tbody tr")
    expect(rows).to_have_count(4)
    page.locator(".tabs a.tabs__failed").click()
    expect(rows).to_have_count(2)
    expect(page).to_have_url(f"{live_server.url}/proofs/?status=failed")
    expect(page.locator(".tabs a.tabs__failed")).to_have_attribute("aria-current", "page")
    page.get_by_role("link", name="All 4").click()
    expect(rows).to_have_count(4)


def test_downloaded_proof_verifies_with_the_command_shown(page, live_server, tmp_path):
    job = proven_decision().proof_job
    page.goto(f"{live_server.url}/proofs/{job.pk}/")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download proof").click()
    download = download_info.value
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    command = page.locator('pre[aria-label="Command to run"] code').inner_text()
    assert command == f"python -m obsqra_stark {download.suggested_filename}"
    result = subprocess.run(
        [sys.executable, *command.split()[1:-1], str(path)], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert f"VALID proof {job.proof_hash}" in result.stdout


def test_admin_registers_a_version_that_the_next_decision_uses(page, live_server, django_user_model):
    django_user_model.objects.create_superuser("curator", password="pw-curator-1")
    page.goto(f"{live_server.url}/admin/login/?next=/admin/registry/modelversion/add/")
    page.fill("#id_username", "curator")
    page.fill("#id_password", "pw-curator-1")
    page.click("input[type=submit]")

    params = risk.ModelParams.from_elements(
        [22, 10000, 0, 44, 10000, 0, 0, 6, 16, 32, 3, 10, 0, 730, 10, 730, 0, 5, 95]
    )
    page.fill("#id_version", "3.1.0")
    page.fill("#id_description", "registered in a browser test")
    page.fill("#id_parameters", json.dumps(params.model_dump(mode="json"), indent=2))
    page.get_by_role("button", name="Preview hash").click()
    expected_hash = f"0x{risk.model_hash(params):064x}"
    expect(page.locator("#hash-preview [data-model-hash]")).to_have_attribute("data-model-hash", expected_hash)
    page.click("input[name=_save]")
    expect(page.locator(".messagelist .success")).to_contain_text("3.1.0")

    body = {"jediswap_metrics": PUBLISHED_JEDISWAP, "ekubo_metrics": PUBLISHED_EKUBO, "model_version": "3.1.0"}
    answer = page.request.post(f"{live_server.url}/api/v1/risk-engine/orchestrate-allocation", data=body)
    assert answer.ok, answer.text()
    decision_id = answer.json()["decision_id"]

    page.goto(live_server.url + "/")
    row = page.locator("table.decisions tbody tr", has=page.locator(f'a[href="/decisions/{decision_id}/"]'))
    expect(row.locator('td[data-label="Model"] a')).to_have_text("3.1.0")
    page.goto(live_server.url + "/models/")
    expect(page.locator('[id="v3.1.0"] code')).to_have_text(expected_hash)


def test_pages_htmx_the_admin_and_the_api_docs_work_under_the_production_csp(page, tmp_path, django_user_model):
    """Served as in production (scripts/serve, hashed static files, the CSP): no violation, nothing
    fetched from another host, htmx and Swagger UI running."""
    decision = proven_decision()
    ProofJob.objects.create(status="failed")
    django_user_model.objects.create_superuser("curator", password="pw-curator-1")
    violations, foreign = [], []
    page.on("console", lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None)
    port = free_port()
    # the browser talks plain HTTP to 127.0.0.1 and says https as a TLS proxy would; its forms' Origin is http
    with production_server(tmp_path, "--no-worker", port=port, CSRF_TRUSTED_ORIGINS=f"http://127.0.0.1:{port}") as server:
        page.set_extra_http_headers({"X-Forwarded-Proto": "https"})
        page.on("request", lambda request: None if request.url.startswith(server.url) else foreign.append(request.url))
        for path in ("/", "/models/", f"/decisions/{decision.pk}/", f"/proofs/{decision.proof_job_id}/"):
            assert page.goto(server.url + path).status == 200, path
        page.goto(server.url + "/proofs/")
        page.locator(".tabs a.tabs__failed").click()
        expect(page.locator("table.proofs tbody tr")).to_have_count(1)
        expect(page).to_have_url(f"{server.url}/proofs/?status=failed")

        page.goto(f"{server.url}/api/v1/docs")
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("Obsqra API")

        page.goto(f"{server.url}/admin/login/?next=/admin/registry/modelversion/add/")
        page.fill("#id_username", "curator")
        page.fill("#id_password", "pw-curator-1")
        page.click("input[type=submit]")
        page.fill("#id_parameters", json.dumps(risk.ModelParams.from_elements(V2_ELEMENTS).model_dump(mode="json")))
        page.get_by_role("button", name="Preview hash").click()
        expect(page.locator("#hash-preview [data-model-hash]")).to_have_count(1)

    assert violations == []
    assert foreign == []
