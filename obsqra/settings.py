"""Settings, all read from the environment (django-environ); defaults run the demo with no server."""

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")
# What `manage.py chain_deploy` wrote (contract addresses, node, accounts); .env and the environment win.
CHAIN_ENV_FILE = Path(env.str("CHAIN_ENV_FILE", default=str(BASE_DIR / ".chain.env")))
environ.Env.read_env(CHAIN_ENV_FILE)

DEBUG = env.bool("DEBUG", default=False)
# The commit being served, recorded on every proof (deployments without a git checkout set it).
SOURCE_COMMIT = env.str("SOURCE_COMMIT", default="")
SECRET_KEY = env("SECRET_KEY", default="insecure-demo-key-set-SECRET_KEY-in-production" if DEBUG else environ.Env.NOTSET)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_q",
    "axes",
    "csp",
    # only for its bundled Swagger UI and ReDoc: with it installed the API docs load nothing from a CDN
    "ninja",
    "registry",
    "allocations",
    "proofs",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # before anything reads the body: an oversized request is refused unread
    "obsqra.limits.RequestSizeLimitMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "obsqra.urls"
WSGI_APPLICATION = "obsqra.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The demo's web server and worker share one file: WAL and immediate transactions avoid "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="")

# Shared between the web process and the django-q2 cluster (its heartbeat lives here).
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "obsqra_cache"}
    )
}

# retry must exceed timeout or a slow task runs twice; failures are kept, never acknowledged away.
Q_CLUSTER = {
    "name": "obsqra",
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": env.int("Q_TIMEOUT", default=120),
    "retry": env.int("Q_RETRY", default=180),
    "max_attempts": 3,
    "ack_failures": False,
    "catch_up": False,
    "save_limit": 1000,
    "poll": 0.2,
    **({"redis": REDIS_URL} if REDIS_URL else {"orm": "default"}),
}

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: a locked-out client is refused before any password check
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
# Content-hashed, compressed names served by WhiteNoise with far-future caching (collectstatic first).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# ---------------------------------------------------------------------------------------------
# Serving on the internet (scripts/serve): HTTPS behind a reverse proxy, CSP, limits.
# ---------------------------------------------------------------------------------------------
# HTTPS=true: the proxy terminates TLS and says so in X-Forwarded-Proto; cookies are Secure, HSTS is sent.
HTTPS = env.bool("HTTPS", default=False)
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^health$"]  # the proxy's and the orchestrator's probes speak plain HTTP
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
CSRF_FAILURE_VIEW = "obsqra.error_pages.csrf_failure"
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SESSION_COOKIE_HTTPONLY = True
# Reverse proxies in front of us that append the client to X-Forwarded-For (0: clients connect directly).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# Pages load only our own files: no inline script or style, no eval (htmx runs with allowEval off).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Request sizes: the largest request is a bundle upload (4 MiB, proofs.bundle.MAX_BYTES) in its multipart
# envelope; any other body (JSON, forms) is small. Both answer 413 beyond, the first without reading it.
REQUEST_MAX_BYTES = env.int("REQUEST_MAX_BYTES", default=(4 << 20) + (64 << 10))
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=64 << 10)

# Rate limits (obsqra.limits, django-ratelimit on the shared cache): per client address without a token,
# per API token with one. "N/s", "N/m", "N/h" or "N/d".
RATELIMIT_USE_CACHE = "default"
RATE_LIMITS = {
    "prove": {"anonymous": env.str("RATE_LIMIT_PROVE", default="30/m"), "token": env.str("RATE_LIMIT_PROVE_TOKEN", default="600/m")},
    "orchestrate": {
        "anonymous": env.str("RATE_LIMIT_ORCHESTRATE", default="30/m"),
        "token": env.str("RATE_LIMIT_ORCHESTRATE_TOKEN", default="600/m"),
    },
    "verify": {"anonymous": env.str("RATE_LIMIT_VERIFY", default="20/m"), "token": env.str("RATE_LIMIT_VERIFY_TOKEN", default="300/m")},
}

# Admin login lockout (django-axes): AXES_FAILURE_LIMIT wrong passwords for one username from one
# address lock that pair out for AXES_COOLOFF_MINUTES (a username alone would let anyone lock out an admin).
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "obsqra.limits.client_ip"
AXES_LOCKOUT_TEMPLATE = "429.html"

STARKNET_RPC_URLS = env.list("STARKNET_RPC_URLS", default=[])

# Public pages: where transactions and facts link to, and how often a live badge polls.
STARKNET_EXPLORER_URL = env("STARKNET_EXPLORER_URL", default="https://sepolia.voyager.online")
BADGE_POLL_SECONDS = env.int("BADGE_POLL_SECONDS", default=10)

# A job still generating after this many seconds is marked timed out by the sweeper schedule.
PROOF_GENERATION_TIMEOUT = env.int("PROOF_GENERATION_TIMEOUT", default=300)
PROOF_SWEEP_MINUTES = env.int("PROOF_SWEEP_MINUTES", default=1)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    # httpx logs every request's full URL at INFO, and hosted node URLs carry their API key in the path.
    # axes announces itself at INFO in every command; its lockouts are warnings
    "loggers": {"httpx": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}

# ---------------------------------------------------------------------------------------------
# Verification on Starknet (proofs.submission): prover service, Integrity fact check, webhook.
# Every value is read from the environment so the django-q2 cluster process sees the same.
# ---------------------------------------------------------------------------------------------
# "atlantic", "sharp", "local" (a local chain only: proofs/local_registrar.py) or "" (off: a generated
# job stays generated).
PROVER_SERVICE = env.str("PROVER_SERVICE", default="")
ATLANTIC_URL = env.str("ATLANTIC_URL", default="https://atlantic.api.herodotus.cloud")
ATLANTIC_API_KEY = env.str("ATLANTIC_API_KEY", default="")  # only ever sent as the api-key header
ATLANTIC_NETWORK = env.str("ATLANTIC_NETWORK", default="TESTNET")  # TESTNET | MAINNET
if ATLANTIC_NETWORK not in ("TESTNET", "MAINNET"):
    raise ImproperlyConfigured(f"ATLANTIC_NETWORK must be TESTNET or MAINNET, not {ATLANTIC_NETWORK!r}")
ATLANTIC_JOB_SIZE = env.str("ATLANTIC_JOB_SIZE", default="S")  # the sizes Atlantic documents: S | M | L
if ATLANTIC_JOB_SIZE not in ("S", "M", "L"):
    raise ImproperlyConfigured(f"ATLANTIC_JOB_SIZE must be S, M or L, not {ATLANTIC_JOB_SIZE!r}")
SHARP_GATEWAY_URL = env.str("SHARP_GATEWAY_URL", default="")
PROVER_HTTP_TIMEOUT = env.float("PROVER_HTTP_TIMEOUT", default=30.0)
# Polling: one durable schedule; each run polls due jobs once. Seconds may be fractions (tests).
PROOF_POLL_SECONDS = env.float("PROOF_POLL_SECONDS", default=30.0)
PROOF_POLL_BATCH = env.int("PROOF_POLL_BATCH", default=20)
PROOF_RETRY_MAX_SECONDS = env.float("PROOF_RETRY_MAX_SECONDS", default=900.0)
PROOF_SUBMIT_MAX_ATTEMPTS = env.int("PROOF_SUBMIT_MAX_ATTEMPTS", default=8)
PROOF_VERIFICATION_TIMEOUT = env.float("PROOF_VERIFICATION_TIMEOUT", default=3600.0)
# Integrity's FactRegistry on the Starknet network ATLANTIC_NETWORK names (Integrity src/lib_utils.cairo).
INTEGRITY_FACT_REGISTRY_ADDRESS = env.str(
    "INTEGRITY_FACT_REGISTRY_ADDRESS",
    default={
        "TESTNET": "0x4ce7851f00b6c3289674841fd7a1b96b6fd41ed1edc248faccd672c26371b8c",
        "MAINNET": "0xcc63a1e8e7824642b89fa6baf996b8ed21fa4707be90ef7605570ca8e4f00b",
    }[ATLANTIC_NETWORK],
)
INTEGRITY_MIN_SECURITY_BITS = env.int("INTEGRITY_MIN_SECURITY_BITS", default=96)
# The verifier configurations (layout:hasher:stone_version:memory_verification) a verification of our
# fact must have: by default the one Atlantic registers a PIE of our statement's layout under.
INTEGRITY_VERIFIER_CONFIGS = env.list(
    "INTEGRITY_VERIFIER_CONFIGS", default=["recursive_with_poseidon:keccak_160_lsb:stone6:relaxed"]
)
STARKNET_RPC_TIMEOUT = env.float("STARKNET_RPC_TIMEOUT", default=15.0)
VERIFICATION_WEBHOOK_URL = env.str("VERIFICATION_WEBHOOK_URL", default="")
VERIFICATION_WEBHOOK_SECRET = env.str("VERIFICATION_WEBHOOK_SECRET", default="")
VERIFICATION_WEBHOOK_MAX_ATTEMPTS = env.int("VERIFICATION_WEBHOOK_MAX_ATTEMPTS", default=6)
VERIFICATION_WEBHOOK_RETRY_SECONDS = env.float("VERIFICATION_WEBHOOK_RETRY_SECONDS", default=60.0)
# SHARP jobs settle on Ethereum: their keccak fact is checked with GpsFactRegistry.isValid over these.
ETHEREUM_RPC_URLS = env.list("ETHEREUM_RPC_URLS", default=[])
# GpsFactRegistry of the network: Sepolia's is cairo-lang's sharp/config.json verifier_address.
SHARP_FACT_REGISTRY_ADDRESS = env.str(
    "SHARP_FACT_REGISTRY_ADDRESS",
    default={
        "TESTNET": "0x07ec0D28e50322Eb0C159B9090ecF3aeA8346DFe",
        "MAINNET": "0x47312450B3Ac8b5b8e247a6bB6d523e7605bDb60",
    }[ATLANTIC_NETWORK],
)

# ---------------------------------------------------------------------------------------------
# Starknet event indexer (allocations.services.chain_events_index, schedule allocations.index_events).
# Nodes: STARKNET_RPC_URLS and STARKNET_RPC_TIMEOUT above.
# ---------------------------------------------------------------------------------------------
INDEXED_CONTRACTS = env.list("INDEXED_CONTRACTS", default=[])  # comma-separated contract addresses
RISK_ENGINE_ADDRESS = env.str("RISK_ENGINE_ADDRESS", default="")  # indexed too when set
INDEXER_REORG_DEPTH = env.int("INDEXER_REORG_DEPTH", default=5)  # blocks re-read on every poll
INDEXER_START_BLOCK = env.int("INDEXER_START_BLOCK", default=0)  # first block read for a new contract
INDEXER_MAX_BLOCKS = env.int("INDEXER_MAX_BLOCKS", default=1000)  # blocks read per contract per poll
INDEXER_CHUNK_SIZE = env.int("INDEXER_CHUNK_SIZE", default=100)  # starknet_getEvents page size
# Event names stored besides AllocationExecuted and FactRegistered (which the indexer acts on); the
# node is asked for these only, so any other event of an indexed contract is never stored.
INDEXER_EVENT_NAMES = env.list("INDEXER_EVENT_NAMES", default=["ModelApproved", "PolicySet", "VerifierConfigAccepted"])
INDEXER_POLL_MINUTES = env.int("INDEXER_POLL_MINUTES", default=1)

# ---------------------------------------------------------------------------------------------
# Live metrics from the pools (allocations.metrics_reader, services.live_metrics).
# ---------------------------------------------------------------------------------------------
JEDISWAP_POOL_ADDRESS = env.str("JEDISWAP_POOL_ADDRESS", default="")  # a JediSwap pair (get_reserves)
JEDISWAP_AUDIT_SCORE = env.int("JEDISWAP_AUDIT_SCORE", default=98)
JEDISWAP_DEPLOYMENT_BLOCK = env.int("JEDISWAP_DEPLOYMENT_BLOCK", default=0)  # age counts from its timestamp
EKUBO_CORE_ADDRESS = env.str("EKUBO_CORE_ADDRESS", default="")  # Ekubo's core (get_pool_price/get_pool_liquidity)
EKUBO_POOL_KEY = env.list("EKUBO_POOL_KEY", default=[])  # token0,token1,fee,tick_spacing,extension
EKUBO_AUDIT_SCORE = env.int("EKUBO_AUDIT_SCORE", default=95)
EKUBO_DEPLOYMENT_BLOCK = env.int("EKUBO_DEPLOYMENT_BLOCK", default=0)
METRICS_PRICE_SAMPLES = env.int("METRICS_PRICE_SAMPLES", default=8)  # blocks sampled per window
METRICS_SAMPLE_BLOCKS = env.int("METRICS_SAMPLE_BLOCKS", default=600)  # blocks between two samples
# token1 depth (base units) from which a pool is tier 0, 1, 2 (below the last: tier 3); descending.
METRICS_LIQUIDITY_TIERS = env.list("METRICS_LIQUIDITY_TIERS", cast=int, default=[10**12, 10**11, 10**10])
METRICS_CACHE_SECONDS = env.int("METRICS_CACHE_SECONDS", default=60)

# ---------------------------------------------------------------------------------------------
# Executing decisions on the RiskEngine (allocations.execution): off unless an account is set.
# The private key is read from the environment (STARKNET_ACCOUNT_PRIVATE_KEY) when a transaction is
# signed and is deliberately not a setting: settings get printed (diffsettings, error pages).
# ---------------------------------------------------------------------------------------------
STARKNET_ACCOUNT_ADDRESS = env.str("STARKNET_ACCOUNT_ADDRESS", default="")  # the RiskEngine's executor
# The RiskEngine's owner (the DAO's key; its private key STARKNET_OWNER_PRIVATE_KEY in the environment):
# only where the admin may approve model hashes on chain, e.g. a local chain. Usually unset.
STARKNET_OWNER_ADDRESS = env.str("STARKNET_OWNER_ADDRESS", default="")
EXECUTION_POLL_SECONDS = env.float("EXECUTION_POLL_SECONDS", default=3.0)  # between two receipt checks
EXECUTION_FOLLOW_SECONDS = env.float("EXECUTION_FOLLOW_SECONDS", default=60.0)  # a worker waits this long, then the schedule
EXECUTION_TIMEOUT = env.float("EXECUTION_TIMEOUT", default=1800.0)  # a transaction no node knows by then never landed
EXECUTION_FOLLOW_MINUTES = env.int("EXECUTION_FOLLOW_MINUTES", default=1)
