# Two entry points, both self-installing on a fresh machine (Python 3.11, Node 20, no AWS, no Docker):
#   make run   - install, synthesize app.py with the pinned CDK CLI, serve it on ws://127.0.0.1:3001
#   make test  - install, then ruff, mypy --strict (lambda_runtime) and the whole pytest suite,
#                then tests/runtime again on the oldest boto3/botocore pyproject allows
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

# jsii prints a multi-line banner on every start under Node 20; it drowns the output.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
# `cdk.json` says `python3 app.py`: the project's virtualenv must come first on PATH.
export PATH := $(CURDIR)/$(BIN):$(PATH)
export VIRTUAL_ENV := $(CURDIR)/$(VENV)

.PHONY: help install run synth test lint typecheck pytest pytest-oldest-botocore snapshot-update clean browser screenshots

help:
	@echo "make run   - install, synthesize the example chat stack and serve it locally"
	@echo "make test  - install, then ruff, mypy and the whole test suite"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(PY_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

install: $(PY_STAMP) $(NODE_STAMP)

synth: install
	npx --no-install cdk synth --quiet

# Synthesizes app.py (asset staging disabled) and serves it locally with --watch: prints the URLs,
# routes, functions, tables and stack outputs, then one access-log line per event; an edited
# handler runs on the next message without reconnecting. PORT=... to change the port; Ctrl-C
# stops it cleanly.
PORT ?= 3001
# web/ (the chat page) is served at http://127.0.0.1:$(PORT)/, the console at /_console/.
run: install
	$(BIN)/cdk-ws-api local --watch --port $(PORT) --static web

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

pytest: install browser
	$(BIN)/python -m pytest

# The runtime on the oldest boto3/botocore pyproject allows (constraints/botocore-oldest.txt),
# in a second, small venv: only what tests/runtime needs (constraints/runtime_requirements.py
# reads the ranges from pyproject.toml), and only tests/runtime runs there.
OLDEST := .venv-botocore-oldest
OLDEST_STAMP := $(OLDEST)/.installed
OLDEST_PINS := constraints/botocore-oldest.txt

$(OLDEST_STAMP): pyproject.toml $(OLDEST_PINS) constraints/runtime_requirements.py | $(BIN)/python
	$(PYTHON) -m venv $(OLDEST)
	$(BIN)/python constraints/runtime_requirements.py > $(OLDEST)/requirements.txt
	$(OLDEST)/bin/python -m pip install --quiet --disable-pip-version-check \
		-c $(OLDEST_PINS) -r $(OLDEST)/requirements.txt
	@touch $@

pytest-oldest-botocore: $(OLDEST_STAMP)
	CDK_WS_API_EXPECT_BOTOCORE=$$(sed -n 's/^botocore==//p' $(OLDEST_PINS)) \
		$(OLDEST)/bin/python -m pytest tests/runtime -q

test: lint typecheck pytest pytest-oldest-botocore

# The browser tests (tests/browser/) drive Debian's Chromium; they never skip, so it is
# installed here when missing: with apt-get as root, otherwise a message saying how.
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "installing chromium and chromium-driver (browser tests)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	else \
		echo "The browser tests need Chromium: run 'sudo apt-get install -y chromium chromium-driver' (Debian/Ubuntu), then make test again." >&2; \
		exit 1; \
	fi

# Refresh docs/console.png and docs/chat.png from the browser tests.
screenshots: install browser
	SCREENSHOTS_DIR=docs $(BIN)/python -m pytest tests/browser -q

# Rewrite the syrupy snapshots after an intended template change; review the diff before committing.
snapshot-update: install
	$(BIN)/python -m pytest tests -k snapshot --snapshot-update

clean:
	rm -rf cdk.out .mypy_cache .ruff_cache

# Benchmarks against the peers (issue 5): rewrites bench/RESULTS.md; `python -m bench --quick`
# is the smoke test. Installs the peers into the git-ignored bench/.peers/ on first use.
.PHONY: bench
bench: install
	$(BIN)/python -m bench
