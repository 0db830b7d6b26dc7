# The two commands of the README: `make demo` and `make test`.
VENV := .venv
PY := $(VENV)/bin/python
PGPORT ?= 54329
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:$(PGPORT)/obsqra

.PHONY: demo test install bench

install: $(VENV)/.installed

# Rebuilds when the dependencies or the prover's Rust sources change.
$(VENV)/.installed: pyproject.toml proofs/stark/Cargo.toml proofs/stark/Cargo.lock $(wildcard proofs/stark/src/*.rs)
	test -x $(PY) || python3.11 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

demo: install
	scripts/demo

test: install
	PGPORT=$(PGPORT) scripts/ensure-postgres
	DATABASE_URL=$(TEST_DATABASE_URL) SECRET_KEY=test-only $(PY) -m pytest $(PYTEST_ARGS)

bench: install
	$(PY) bench/prover.py
