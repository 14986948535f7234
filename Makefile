# The two commands a newcomer needs: `make run` (the demo) and `make test`.
# Both create .venv and install the requirements when missing or out of date.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SHOP_PORT ?= 5000
SANDBOX_PORT ?= 5001
export SHOP_PORT SANDBOX_PORT

.PHONY: run test lint demo-close-browser bench clean-instance

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.run-deps: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.test-deps: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.run-deps

run: $(VENV)/.run-deps
	$(BIN)/flask --app wsgi:app init-settings
	$(BIN)/flask --app wsgi:app setup
	$(BIN)/flask --app wsgi:sandbox init-db
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start -f Procfile

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

bench: $(VENV)/.test-deps
	$(BIN)/python -m bench.confirm_race

clean-instance:
	rm -f instance/*.db instance/*.db-wal instance/*.db-shm instance/settings.env
