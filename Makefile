# The two commands a newcomer needs: `make run` (the demo) and `make test`.
# Both create .venv and install the lock files (pinned, hash-checked) when missing or out of date.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SHOP_PORT ?= 5000
SANDBOX_PORT ?= 5001
export SHOP_PORT SANDBOX_PORT

.PHONY: run sandbox test lint lock demo-close-browser bench bench-profile clean-instance

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Installs come from the lock files only: every package pinned, every file hash-checked.
$(VENV)/.run-deps: requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install -q --require-hashes -r requirements.lock
	touch $@

$(VENV)/.test-deps: requirements.lock requirements-dev.lock | $(BIN)/python
	$(BIN)/python -m pip install -q --require-hashes -r requirements-dev.lock
	touch $@ $(VENV)/.run-deps

# After changing requirements*.txt (the ranges we accept): pin and hash anew.
PIP_COMPILE := $(BIN)/pip-compile -q --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links
lock: $(VENV)/.test-deps
	$(PIP_COMPILE) --upgrade -o requirements.lock requirements.txt
	$(PIP_COMPILE) --upgrade -c requirements.lock -o requirements-dev.lock requirements-dev.txt

$(VENV)/.bench-deps: requirements-bench.txt $(VENV)/.test-deps | $(BIN)/python
	$(BIN)/python -m pip install -q -r requirements-bench.txt
	touch $@

run: $(VENV)/.run-deps
	$(BIN)/flask --app wsgi:app init-settings
	$(BIN)/flask --app wsgi:app setup
	$(BIN)/flask --app wsgi:sandbox init-db
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start -f Procfile

# The sandbox alone, for a shop of yours: its API, JS client and dashboard on
# SANDBOX_PORT, and the callback worker (README: Running the sandbox alone).
sandbox: $(VENV)/.run-deps
	$(BIN)/flask --app wsgi:app init-settings
	$(BIN)/flask --app wsgi:sandbox init-db
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start -f Procfile sandbox delivery

lint: $(VENV)/.test-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest

# Needs `make run` running in another terminal.
demo-close-browser: $(VENV)/.test-deps
	$(BIN)/python -m tests.e2e.demo_close_browser $(DEMO_ARGS)

# The benchmarks (bench/__main__.py): make bench ARGS="--db postgresql URL" for PostgreSQL,
# ARGS="--quick" for a short run. Needs wrk (sudo apt-get install wrk).
bench: $(VENV)/.bench-deps
	$(BIN)/python -m bench $(ARGS)

# Where the callback path's CPU goes, beside the baseline's (bench/profile.py).
bench-profile: $(VENV)/.bench-deps
	$(BIN)/python -m bench.profile $(ARGS)

clean-instance:
	rm -f instance/*.db instance/*.db-wal instance/*.db-shm instance/settings.env
