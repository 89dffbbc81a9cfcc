#!/usr/bin/env bash
# `make bench`: the benchmarks against a private local stack (stopped at the end).
# Results go to bench/results/*.json; docs/benchmarks.md records them.
set -euo pipefail
cd "$(dirname "$0")/.."
EGOV=.venv/bin/egov-bus
STATE=.egov/bench
export EGOV_ENV_FILE="$STATE/dev.env"
export EGOV_PSEUDONYM_KEY="${EGOV_PSEUDONYM_KEY:-bench-only-pseudonym-key-not-secret}"
trap '"$EGOV" dev down --state-dir "$STATE" || true' EXIT INT TERM
"$EGOV" dev up --state-dir "$STATE"
.venv/bin/python bench/publish.py "$@"
