import secrets

import pytest
from django.db import connection
from django.test import Client

from allocations import risk, services
from registry.models import ApiToken, ModelVersion
from proofs.models import ProofJob
from tests.fakes.servers import FakeStarknetNode
from tests.fakes.verification import Fakes, apply

pytest_plugins = ["tests.devnet", "tests.chain_proxy"]

# The published formulas, read independently of the migration that ships them.
V1_ELEMENTS = [35, 10000, 0, 30, 10000, 0, 15, 10, 5, 0, 1, 5, 0, 1000, 1, 100, 99, 5, 95]
V2_ELEMENTS = [25, 10000, 0, 40, 10000, 0, 0, 5, 15, 30, 3, 10, 0, 730, 10, 730, 0, 5, 95]

PUBLISHED_JEDISWAP = {"utilization": 6500, "volatility": 3500, "liquidity": 1, "audit_score": 98, "age_days": 800}
PUBLISHED_EKUBO = {"utilization": 5000, "volatility": 2500, "liquidity": 2, "audit_score": 95, "age_days": 600}
SEPOLIA_METRICS = {"utilization": 500, "volatility": 2000, "liquidity": 2, "audit_score": 85, "age_days": 365}


@pytest.fixture(autouse=True, scope="session")
def _require_postgresql(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        if connection.vendor != "postgresql":
            pytest.exit("the test suite runs against PostgreSQL: use the README's test command", returncode=2)


@pytest.fixture
def v1_params() -> risk.ModelParams:
    return risk.ModelParams.from_elements(V1_ELEMENTS)


@pytest.fixture
def v2_params() -> risk.ModelParams:
    return risk.ModelParams.from_elements(V2_ELEMENTS)


@pytest.fixture
def decision_body():
    """A valid request body for the decision endpoints; tests change one thing at a time."""

    def make(**overrides):
        body = {"jediswap_metrics": dict(PUBLISHED_JEDISWAP), "ekubo_metrics": dict(PUBLISHED_EKUBO)}
        body.update(overrides)
        return body

    return make


@pytest.fixture
def api(client: Client):
    """JSON helpers over the real URL routing and middleware."""

    class Api:
        def get(self, path, **headers):
            return client.get(f"/api/v1{path}", headers=headers)

        def post(self, path, body, **headers):
            return client.post(f"/api/v1{path}", body, content_type="application/json", headers=headers)

    return Api()


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user("auditor", password="pw-auditor-1", is_staff=True)


@pytest.fixture
def plain_user(django_user_model):
    return django_user_model.objects.create_user("visitor", password="pw-visitor-1")


def make_token(user) -> str:
    key = secrets.token_urlsafe(32)
    ApiToken.objects.create(user=user, name="test", key_hash=ApiToken.hash_key(key))
    return key


@pytest.fixture
def staff_token(staff_user) -> str:
    return make_token(staff_user)


@pytest.fixture
def current_version() -> ModelVersion:
    return ModelVersion.objects.get(is_current=True)


def test_database_url() -> str:
    from django.conf import settings

    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


test_database_url.__test__ = False  # a helper, not a test


@pytest.fixture(scope="session")
def q_cluster(django_db_setup, django_db_blocker, tmp_path_factory):
    """A real django-q2 cluster in its own process, working on the test database."""
    import os
    import subprocess
    import sys
    import time

    from django_q.status import Stat

    env = os.environ | {"DATABASE_URL": test_database_url(), "Q_WORKERS": "1"}
    log_path = tmp_path_factory.mktemp("qcluster") / "qcluster.log"
    log = log_path.open("w")
    process = subprocess.Popen([sys.executable, "manage.py", "qcluster"], env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    with django_db_blocker.unblock():
        while not Stat.get_all():
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"django-q2 cluster did not start:\n{log_path.read_text()}")
            time.sleep(0.2)
    yield process
    process.terminate()
    process.wait(timeout=30)
    log.close()


@pytest.fixture
def onchain(devnet, settings, monkeypatch, db):
    """Our RiskEngine and the local fact registry on devnet, deployed as ``manage.py chain_deploy`` does,
    and the settings (and the operator's key in the environment) that point the application at them."""
    from tests.devnet import OnChain

    operator = devnet.accounts[0]
    settings.EXECUTION_POLL_SECONDS = 0.05
    deployed = services.contracts_deploy(operator, rpc_url=devnet.url, local_fact_registry=True)
    for name, value in deployed.settings().items():
        setattr(settings, name, value)
    settings.STARKNET_RPC_URLS = [devnet.url]
    settings.STARKNET_RPC_TIMEOUT = 5
    settings.STARKNET_ACCOUNT_ADDRESS = hex(operator.address)
    monkeypatch.setenv("STARKNET_ACCOUNT_PRIVATE_KEY", hex(operator.private_key))
    return OnChain(devnet, operator, deployed)


@pytest.fixture
def starknet_node():
    server = FakeStarknetNode()
    yield server
    server.stop()


# The pools live_pools serves: a JediSwap pair and Ekubo's core with one pool key.
PAIR = 0x0A1B_0000_0000_0000_0000_0000_0000_0000_0000_0000_0000_0000_0000_0000_0101
CORE = 0x0E4B_0000_0000_0000_0000_0000_0000_0000_0000_0000_0000_0000_0000_0000_0202
POOL_KEY = [0x111, 0x222, 0x20C49BA5E353F80000000000000000, 0x3E8, 0x0]
Q128 = 2**128
BLOCKS_PER_DAY = 86_400 // 30  # the fake node's blocks are 30 s apart


def _value_at(history: dict[int, object], block: int):
    """The value set at the latest block not after ``block``."""
    return history[max(b for b in history if b <= block)]


@pytest.fixture
def live_pools(settings, starknet_node):
    """Three samples an hour (120 blocks) apart: JediSwap's price goes 1 -> 1.002 -> 1, Ekubo's
    sqrt price 1 -> 1 -> 1.001.

    JediSwap holds 16e9 token1 and is 100 days old; Ekubo's active liquidity is 1e13 and 10 days old.
    """
    from django.core.cache import cache

    from allocations import metrics_reader

    head = starknet_node.block
    hour = 120
    jediswap = {0: (16 * 10**9, 16 * 10**9), head - hour: (16 * 10**9, 16_032_000_000), head: (16 * 10**9, 16 * 10**9)}
    ekubo = {0: Q128, head: Q128 + Q128 // 1000}

    def pair(selector, calldata, block):
        assert selector == metrics_reader.GET_RESERVES and calldata == []
        reserve0, reserve1 = _value_at(jediswap, block)
        return [reserve0, 0, reserve1, 0, 1_750_000_000]

    def core(selector, calldata, block):
        assert calldata == POOL_KEY
        if selector == metrics_reader.GET_POOL_PRICE:
            sqrt_ratio = _value_at(ekubo, block)
            return [sqrt_ratio % Q128, sqrt_ratio // Q128, 0, 0]
        assert selector == metrics_reader.GET_POOL_LIQUIDITY
        return [10**13]

    starknet_node.contracts = {PAIR: pair, CORE: core}
    settings.STARKNET_RPC_URLS = [starknet_node.url]
    settings.STARKNET_RPC_TIMEOUT = 2
    settings.JEDISWAP_POOL_ADDRESS = hex(PAIR)
    settings.JEDISWAP_DEPLOYMENT_BLOCK = head - 100 * BLOCKS_PER_DAY
    settings.EKUBO_CORE_ADDRESS = hex(CORE)
    settings.EKUBO_POOL_KEY = [hex(felt) for felt in POOL_KEY]
    settings.EKUBO_DEPLOYMENT_BLOCK = head - 10 * BLOCKS_PER_DAY
    settings.METRICS_PRICE_SAMPLES = 3
    settings.METRICS_SAMPLE_BLOCKS = hour
    settings.METRICS_LIQUIDITY_TIERS = [10**12, 10**11, 10**10]
    cache.delete(services.LIVE_METRICS_CACHE_KEY)
    yield settings
    cache.delete(services.LIVE_METRICS_CACHE_KEY)


@pytest.fixture
def fakes(settings, onchain):
    fakes = Fakes(onchain)
    apply(settings, fakes.env())
    # In this process retries are due at once; backoff itself is tested separately.
    settings.PROOF_POLL_SECONDS = settings.VERIFICATION_WEBHOOK_RETRY_SECONDS = 0.0
    settings.PROVER_HTTP_TIMEOUT = 0.5  # the "hang" fault sleeps 2 s
    yield fakes
    fakes.stop()


@pytest.fixture
def decided_job(api, decision_body):
    def make(**overrides) -> ProofJob:
        body = api.post("/risk-engine/orchestrate-allocation", decision_body(**overrides)).json()
        return ProofJob.objects.get(pk=body["proof_job_id"])

    return make
