# The README's commands: `make demo`, `make serve` (production) and `make test`.
VENV := .venv
PY := $(VENV)/bin/python
PGPORT ?= 54329
# Rust builds (the wheel, cargo test) share one cache outside the clone: a fresh clone compiles
# only our crate, not winterfell and starknet-crypto again.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/obsqra/cargo-target
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:$(PGPORT)/obsqra

.PHONY: demo serve test install bench rust-tests devnet contracts services

install: $(VENV)/.installed static/vendor/htmx.min.js

# Rebuilds when the dependencies or the prover's sources change. The prover crate is its own Python
# package (obsqra-stark, what auditors install alone); the app is installed beside it.
# the wheel stays here for tests that install it alone into a fresh virtualenv
STARK_WHEELS := proofs/stark/target/wheels
STARK_SOURCES := proofs/stark/pyproject.toml proofs/stark/Cargo.toml proofs/stark/Cargo.lock \
	$(wildcard proofs/stark/src/*.rs proofs/stark/src/*/*.rs proofs/stark/python/obsqra_stark/*)
$(VENV)/.installed: pyproject.toml $(STARK_SOURCES)
	test -x $(PY) || python3.11 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	rm -rf $(STARK_WHEELS)
	$(PY) -m pip wheel -q --no-deps ./proofs/stark -w $(STARK_WHEELS)
	$(PY) -m pip install -q --force-reinstall $(STARK_WHEELS)/obsqra_stark-*.whl
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

# htmx comes from the npm registry at the version package-lock.json pins; pages load it from here, never a CDN.
static/vendor/htmx.min.js: package.json package-lock.json
	npm ci --omit=dev --no-audit --no-fund
	mkdir -p $(@D)
	cp node_modules/htmx.org/dist/htmx.min.js $@

demo: install
	scripts/demo

# production: gunicorn + the django-q2 cluster, configured by the environment (README, "Production")
serve: install
	scripts/serve

# The slow first-time builds (our wheel and Rust tests, starknet-devnet, the Cairo compilers) run side by
# side: each leaves a core idle in its serial stretches. Services use apt, so they stay one target.
test:
	$(MAKE) --no-print-directory -j4 install rust-tests devnet contracts services
	STARKNET_DEVNET=$$(scripts/ensure-devnet) DATABASE_URL=$(TEST_DATABASE_URL) SECRET_KEY=test-only CHAIN_ENV_FILE=/dev/null \
		$(PY) -m pytest $(PYTEST_ARGS)

# after the wheel: both build our crate's library in the shared target dir, and the wheel must not pick
# up a library the tests' build is rewriting
rust-tests: install
	cargo test --release --quiet --manifest-path proofs/stark/Cargo.toml

devnet:
	scripts/ensure-devnet >/dev/null

# after npm ci (static/vendor): the compiler's corelib comes from an npm package
contracts: static/vendor/htmx.min.js
	scripts/build-contracts >/dev/null

services:
	PGPORT=$(PGPORT) scripts/ensure-postgres
	scripts/ensure-chromium

bench: install
	$(PY) bench/prover.py
	$(PY) bench/execution.py
	PGPORT=$(PGPORT) scripts/ensure-postgres
	$(PY) bench/flood.py --database-url $(TEST_DATABASE_URL)
