#!/usr/bin/env bash
# `make demo`: a local Kafka + registry, the sample round trip, then everything stopped.
# Later stages (topics, schemas, simulator, processors, views) are added here as they land.
set -euo pipefail
cd "$(dirname "$0")/.."
EGOV=.venv/bin/egov-bus
STATE=.egov/demo
export EGOV_ENV_FILE="$STATE/dev.env"

cleanup() { "$EGOV" dev down --state-dir "$STATE" || true; }
trap cleanup EXIT INT TERM

"$EGOV" dev up --state-dir "$STATE"
"$EGOV" dev smoke
