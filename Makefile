# Tutorplane — the two commands a newcomer needs:
#   make demo   run the platform on its embedded default (embedded PostgreSQL + emulators + services)
#   make test   run the default test tiers (unit, integration, browser) with real PostgreSQL and Redis
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: install system-deps frontend demo test test-all lint typecheck bench migrate up down logs render clean

install:
	@scripts/install.sh

system-deps:
	@scripts/system-deps.sh

frontend: install
	@scripts/frontend.sh build

demo: install system-deps frontend
	$(PY) -m tutorplane.devstack

test: install system-deps frontend
	@scripts/frontend.sh test
	$(PY) -m pytest -m "unit or integration or browser or cluster or live_api" $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check shared services operator tests
	$(VENV)/bin/ruff format --check shared services operator tests

typecheck: install
	$(VENV)/bin/mypy shared/common/src shared/db/src shared/emulators/src shared/guardrail/src \
	  shared/routing/src shared/devstack/src services/guardrail/src services/gateway/src \
	  services/agent/src operator/src

bench: install system-deps
	$(PY) -m tutorplane.devstack.bench

migrate: install
	$(VENV)/bin/tutorplane-db migrate up

up:
	@scripts/cluster.sh up

down:
	@scripts/cluster.sh down

logs:
	@scripts/cluster.sh logs

clean:
	rm -rf .local test-artifacts
