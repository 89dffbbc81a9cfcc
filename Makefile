# egov-bus developer entry points. Every target installs what it needs itself.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_WORKERS ?= 2

.PHONY: help install system-deps contracts demo test test-reliability bench test-unit test-reliability bench lint clean dev-up dev-down

help: ## Show the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk -F':.*?## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml devtools/pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11+" >&2; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]' -e ./devtools
	touch $(STAMP)

install: $(STAMP) ## Create .venv and install egov-bus with its dev tools

demo: $(STAMP) ## Run the demo on a local Kafka + registry (stopped at the end)
	deploy/demo.sh

system-deps: ## Install the Debian packages the tests run as real parts (prometheus, postgresql, chromium)
	deploy/tools/system-deps.sh

test: $(STAMP) system-deps tools ## Check the import layering (lint-imports), then run the test suite against a broker and registry it starts itself
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m tests.run -n $(PYTEST_WORKERS)

test-reliability: $(STAMP) system-deps ## Reliability tests only: broker outages (also in make test), the 1,000,000-event worker memory/restart test, the fault suite and the 30-minute soak on a 3-broker cluster (tests/reliability, docs/reliability.md)
	EGOV_TEST_SECURE=0 $(BIN)/python -m tests.run -n 1 -m reliability
	$(BIN)/python -m tests.reliability.report

bench: $(STAMP) ## Benchmarks on a private local stack (results in bench/results/, see docs/benchmarks.md)
	deploy/bench.sh

test-unit: $(STAMP) ## Unit tests only (no services)
	$(BIN)/pytest -m "not integration" -q

dev-up: $(STAMP) ## Start the local stack and leave it running (.egov/dev.env)
	$(BIN)/egov-bus dev up

dev-down: $(STAMP) ## Stop the local stack
	$(BIN)/egov-bus dev down

contracts: $(STAMP) ## Regenerate the pydantic models and docs/events.md from the .avsc files
	$(BIN)/python -m schemas.codegen
	$(BIN)/egov-bus catalog markdown

clean: ## Remove the virtualenv and local state (the download cache stays)
	-test -x $(BIN)/egov-bus && $(BIN)/egov-bus dev down
	rm -rf $(VENV) .egov .pytest_cache

include mk/tools.mk
