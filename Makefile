# Entry points for users and CI. Every target installs what it needs first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LAUNCHER := $(PY) stack/launcher.py

.PHONY: help system venv deps lint format test test-unit run stack-up stack-down stack-status \
	stack-logs stack-env stack-clean bench ui ui-stop

help: ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

system: ## Install the Debian packages the stack needs (MariaDB, mysqlclient headers).
	@bash stack/install-system.sh

$(STAMP): requirements.txt requirements-dev.txt constraints.txt | system
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip==25.3
	$(PY) -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	touch $(STAMP)

venv: $(STAMP) ## Create the project venv with pinned packages.

deps: venv ## Install everything: Debian packages, venv, and the stack's jars.
	@$(LAUNCHER) install

lint: venv ## Ruff (lint and format check) and mypy.
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy plugins include

format: venv ## Apply ruff's fixes and formatting.
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

stack-up: deps ## Start every service of the local stack and wait until healthy.
	@$(LAUNCHER) up

stack-down: ## Stop every process the stack started.
	@if [ -x $(PY) ]; then $(LAUNCHER) down; else echo "no venv: nothing to stop"; fi

stack-status: ## Show each service: running, pid, port, health.
	@$(LAUNCHER) status

stack-logs: ## Show the end of every service's log.
	@$(LAUNCHER) logs

stack-env: ## Print export lines for running airflow commands against the stack.
	@$(LAUNCHER) env

stack-clean: stack-down ## Stop the stack and delete its data and logs.
	@$(LAUNCHER) clean

test-unit: venv ## Tests that need no service.
	$(VENV)/bin/pytest -m "not stack and not lifecycle"

test: lint stack-up ## Everything: lint, the stack, and the whole test suite.
	$(VENV)/bin/pytest -m "not lifecycle"
	$(VENV)/bin/pytest -m lifecycle

run: stack-up ## Run pinterest_emulation end to end on the local stack and print a report.
	@$(PY) stack/run_pipeline.py

ui: stack-up ## Start Airflow's api-server, scheduler, dag-processor and triggerer on the stack.
	@$(PY) stack/airflow_ui.py up

ui-stop: ## Stop the Airflow processes started by make ui.
	@if [ -x $(PY) ]; then $(PY) stack/airflow_ui.py down; fi

bench: stack-up ## Run the benchmarks on the local stack (printed, not asserted).
	@$(PY) bench/run.py
