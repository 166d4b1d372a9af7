# mailroom — one command to run it (make up), one to test it (make test).
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
PY := $(VENV)/bin/python
UV := $(shell command -v uv 2>/dev/null)
PACKAGES := -e libs/common -e services/ingest -e services/responder -e services/sender \
	-e services/admin-api -e deploy/local
SRC := conftest.py libs services deploy/local deploy/docker tests bench
STACK := deploy/local/stack.sh

.PHONY: help install lint fmt test test-unit test-integration up down status bench stack-up stack-down

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(VENV)/.installed: constraints.txt requirements-dev.txt libs/common/pyproject.toml \
		services/*/pyproject.toml deploy/local/pyproject.toml
	@command -v uv >/dev/null || python3 -m pip install -q uv
	@test -x $(PY) || uv venv -q -p python3.11 $(VENV)
	uv pip install -q -p $(PY) -c constraints.txt $(PACKAGES) -r requirements-dev.txt
	bash deploy/k8s/tools.sh
	@touch $@

install: $(VENV)/.installed ## make .venv and install every package editable

lint: install ## ruff (lint + format check) and mypy --strict
	$(VENV)/bin/ruff check $(SRC)
	$(VENV)/bin/ruff format --check $(SRC)
	$(VENV)/bin/mypy libs/common/src services/*/src deploy/local/src

fmt: install ## apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix $(SRC)
	$(VENV)/bin/ruff format $(SRC)

test: install ## lint, start the local stack, run every test, stop what it started
	$(MAKE) lint
	bash $(STACK) browser
	bash deploy/local/run-with-stack.sh $(VENV)/bin/pytest -q -p no:cacheprovider $(PYTEST_ARGS)

test-unit: install ## unit tests only (no servers)
	$(VENV)/bin/pytest -q -m "not integration and not e2e" $(PYTEST_ARGS)

stack-up: install ## start Kafka, PostgreSQL, Dovecot, the SMTP sink and the offline LLM
	bash $(STACK) start

stack-down: ## stop the local stack
	bash $(STACK) stop

status: ## what is running: the local stack and the four services
	@bash $(STACK) status; rc=$$?; bash deploy/local/services.sh status || rc=1; exit $$rc

up: install ## run the whole system on local defaults
	bash deploy/local/up.sh

down: ## stop everything `make up` started
	bash deploy/local/down.sh

bench: install ## run the benchmarks (stack started and stopped around them)
	bash deploy/local/run-with-stack.sh bash bench/run_all.sh
