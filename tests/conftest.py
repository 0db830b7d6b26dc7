import asyncio
import dataclasses
import secrets

import environ
import pytest
from django.db import connection
from django.test import Client
from starknet_py.net.account.account import Account
from starknet_py.net.full_node_client import FullNodeClient

from allocations import deployment, risk, services
from proofs.models import ProofJob
from registry.models import ApiToken, ModelVersion
from tests.devnet import CHAIN_ID, Devnet, DevnetError
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


UNLIMITED = {"anonymous": "100000/m", "token": "100000/m"}


@pytest.fixture(autouse=True, scope="session")
def _test_settings():
    """Static files unhashed (Django's advice: hashed names need collectstatic; tests/test_production.py
    serves those), and rates no test reaches but the ones that test the limits (tests/test_limits.py)."""
    from django.conf import settings
    from django.test import override_settings

    with override_settings(
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
        RATE_LIMITS={group: UNLIMITED for group in settings.RATE_LIMITS},
    ):
        yield


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
def onchain(request, devnet_node, settings, monkeypatch, db):
    """Our RiskEngine and the local fact registry on devnet, deployed as ``manage.py chain_deploy`` does, and
    the settings (and the executor's key in the environment) that point the application at them: devnet's
    first account owns both contracts, its second executes decisions.

    Each test gets contracts of its own on the session's chain, which is not restarted for it (a restart
    drops the declared classes, seconds to declare again): a test that needs genesis asks for ``devnet``
    too, and its restart then comes first. Account nonces carry over between tests.
    """
    from tests.devnet import OnChain

    if "devnet" in request.fixturenames:
        request.getfixturevalue("devnet")
    devnet = devnet_node
    owner, executor = devnet.accounts[:2]
    settings.EXECUTION_POLL_SECONDS = 0.05
    deployed = services.contracts_deploy(owner, executor=executor.address, rpc_url=devnet.url, local_fact_registry=True)
    for name, value in deployed.settings().items():
        setattr(settings, name, value)
    settings.STARKNET_RPC_URLS = [devnet.url]
    settings.STARKNET_RPC_TIMEOUT = 5
    settings.STARKNET_ACCOUNT_ADDRESS = hex(executor.address)
    monkeypatch.setenv("STARKNET_ACCOUNT_PRIVATE_KEY", hex(executor.private_key))
    return OnChain(devnet, owner, executor, deployed)


HOUR, DAY = 3_600, 86_400
Q128 = 2**128
RESERVE = 16 * 10**9  # the JediSwap pair's token0 and token1
LIQUIDITY = 10**13  # the Ekubo pool's active liquidity


@dataclasses.dataclass(frozen=True)
class LivePools:
    """The local pools on devnet as live_pools built them; ``invoke`` mines a new head with the owner's calls."""

    devnet: Devnet
    owner: Account
    pools: deployment.LocalPools
    jediswap_deployed: int  # the pair's deployment block
    ekubo_initialised: int  # the block that initialised the Ekubo pool
    head: int
    head_hash: int
    head_timestamp: int

    def invoke(self, *calls) -> None:
        asyncio.run(deployment.invoke_all(self.owner, calls, poll_seconds=0.05))


def _block_hash(devnet: Devnet, number: int) -> int | None:
    try:
        block = devnet.rpc("starknet_getBlockWithTxHashes", {"block_id": {"block_number": number}})
    except DevnetError:
        return None
    return int(block["block_hash"], 16)


def _live_pools_build(devnet: Devnet) -> LivePools:
    """On the chain as it is: every stamp is later than its latest block, and they go in order."""
    owner = devnet.accounts[0].bind(FullNodeClient(node_url=devnet.url), CHAIN_ID)
    latest = devnet.rpc("starknet_getBlockWithTxHashes", {"block_id": "latest"})["timestamp"]
    now = latest + 200 * DAY  # the head's time

    def stamped(timestamp: int, *calls) -> int:
        """The owner's calls in a block stamped ``timestamp`` (an empty block without calls); its number."""
        devnet.rpc("devnet_setTime", {"time": timestamp, "generate_block": not calls})
        if calls:
            asyncio.run(deployment.invoke_all(owner, calls, poll_seconds=0.05))
        return devnet.rpc("starknet_blockNumber")

    # The stamp goes to the first declaration; the deployment follows within seconds, well inside the hour.
    devnet.rpc("devnet_setTime", {"time": now - 100 * DAY - HOUR, "generate_block": False})
    pools = asyncio.run(deployment.deploy_local_pools(owner, reserves=(RESERVE, RESERVE), poll_seconds=0.05))
    jediswap_deployed = devnet.rpc("starknet_blockNumber")
    ekubo_initialised = stamped(now - 10 * DAY, pools.set_pool_call(Q128, LIQUIDITY))
    stamped(now - 2 * HOUR)
    stamped(now - HOUR, pools.set_reserves_call(RESERVE, RESERVE * 1002 // 1000))
    head = stamped(now, pools.set_reserves_call(RESERVE, RESERVE), pools.set_pool_call(Q128 + Q128 // 1000, LIQUIDITY))
    return LivePools(devnet, owner, pools, jediswap_deployed, ekubo_initialised, head, _block_hash(devnet, head), now)


_LIVE_POOLS: dict[str, LivePools] = {}  # per devnet URL: the last pools built there


@pytest.fixture
def live_pools(request, settings, devnet_node, db):
    """A local JediSwap pair and Ekubo core on devnet, and three samples one block and an hour apart:
    JediSwap's price goes 1 -> 1.002 -> 1, Ekubo's sqrt price 1 -> 1 -> 1.001.

    The pair holds 16e9 token1 and was deployed 100 days before the head; the Ekubo pool's active
    liquidity is 1e13 and it was initialised 10 days before (a pool's age, not the shared core's).
    Blocks are stamped with devnet_setTime, so the sampled window is exactly two hours.

    Building takes six transactions (about 10 s on a busy machine), so the chain is built once and each
    later test gets it back exactly: the blocks an earlier test mined on top are aborted. A restart in
    between (the ``devnet`` fixture) is seen by the head's hash, and the pools are built again.
    """
    from django.core.cache import cache

    if "devnet" in request.fixturenames:
        request.getfixturevalue("devnet")  # the test's own restart comes before the pools, never after
    chain = _LIVE_POOLS.get(devnet_node.url)
    if chain is None or _block_hash(devnet_node, chain.head) != chain.head_hash:
        chain = _LIVE_POOLS[devnet_node.url] = _live_pools_build(devnet_node)
    elif devnet_node.rpc("starknet_blockNumber") > chain.head:
        devnet_node.abort_blocks(chain.head + 1)

    for name, value in chain.pools.settings().items():
        setattr(settings, name, environ.Env.parse_value(value, list) if name == "EKUBO_POOL_KEY" else value)
    settings.STARKNET_RPC_URLS = [devnet_node.url]
    settings.STARKNET_RPC_TIMEOUT = 5
    settings.JEDISWAP_DEPLOYMENT_BLOCK = chain.jediswap_deployed
    settings.EKUBO_DEPLOYMENT_BLOCK = chain.ekubo_initialised
    settings.METRICS_PRICE_SAMPLES = 3
    settings.METRICS_SAMPLE_BLOCKS = 1
    settings.METRICS_LIQUIDITY_TIERS = [10**12, 10**11, 10**10]
    cache.delete(services.LIVE_METRICS_CACHE_KEY)
    yield chain
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
