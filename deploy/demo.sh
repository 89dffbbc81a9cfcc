#!/usr/bin/env bash
# `make demo`: a secured local Kafka (SASL_SSL, SCRAM-SHA-512, ACLs enforced) + registry;
# the operator applies the topic catalogue and registers the schemas; a processor worker
# and the views API run as their own principals; regions are enrolled with their own
# credentials and signing keys, and publish 30 s of simulated events, each as itself, signed; the
# worker verifies every signature against egov.keys before it counts; then the central
# views are printed, the views API and dashboard served, and everything stopped (by PID).
# DEMO_KEEP=1 keeps the stack, the worker and the dashboard running until Ctrl-C.
# DEMO_REGIONS (comma separated kabupaten/kota codes) chooses the regions enrolled; DEMO_SECONDS how long
# they publish, DEMO_RATE how fast; DEMO_STATE_DIR and DEMO_DASHBOARD_PORT where the demo lives (tests).
set -euo pipefail
cd "$(dirname "$0")/.."
EGOV=.venv/bin/egov-bus
STATE="${DEMO_STATE_DIR:-.egov/demo}"
export EGOV_ENV_FILE="$STATE/dev.env"
export EGOV_PSEUDONYM_KEY="${EGOV_PSEUDONYM_KEY:-demo-only-pseudonym-key-$(date +%s)}"
export EGOV_PROCESSOR_DATA_DIR="$STATE/processors"
export EGOV_SPOOL_DIR="$STATE/spool"
# The views API asks for bearer tokens: the demo mints a nation-wide one below (a fresh file each run).
export EGOV_VIEWS_API_TOKENS_FILE="$STATE/views-tokens.yaml"
RATE="${DEMO_RATE:-200}"
REGIONS="${DEMO_REGIONS:-11.71,31.71,32.01,32.73,33.74,35.78,51.71,64.72,73.71,91.71}"
PRINCIPALS="$STATE/principals"
SECONDS_TO_RUN="${DEMO_SECONDS:-30}"
WORKER_PID=""
DASHBOARD_PID=""
DASHBOARD_PORT="${DEMO_DASHBOARD_PORT:-8088}"
DASHBOARD_URL="http://127.0.0.1:$DASHBOARD_PORT"

SIM_PIDS=()
cleanup() {
  for pid in "${SIM_PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then kill "$pid" || true; wait "$pid" 2>/dev/null || true; fi
  done
  if [ -n "$DASHBOARD_PID" ] && kill -0 "$DASHBOARD_PID" 2>/dev/null; then
    kill "$DASHBOARD_PID" || true
    wait "$DASHBOARD_PID" 2>/dev/null || true
  fi
  if [ -n "$WORKER_PID" ] && kill -0 "$WORKER_PID" 2>/dev/null; then
    kill "$WORKER_PID" || true
    wait "$WORKER_PID" 2>/dev/null || true
  fi
  "$EGOV" dev down --state-dir "$STATE" || true
}
trap cleanup EXIT INT TERM

echo "== 1. local Kafka (KRaft, SASL_SSL + ACLs) + Apicurio Registry"
"$EGOV" dev up --secure --state-dir "$STATE"
"$EGOV" dev smoke
echo "== 2. the operator: topics and schemas from the catalogue, the ACLs of topics/acls.yaml"
"$EGOV" topics apply
"$EGOV" schemas register
"$EGOV" acls apply
echo "== 3. processors (faust-streaming worker, confluent-kafka data path; log in $STATE/logs/processors.log)"
# The broker is new on every demo: so is the worker's local state (RocksDB belongs to one cluster).
rm -rf "$EGOV_PROCESSOR_DATA_DIR"
EGOV_ENV_FILE="$PRINCIPALS/processors.env" "$EGOV" process --log-level warn > "$STATE/logs/processors.log" 2>&1 &
WORKER_PID=$!
echo "== 3b. views API and dashboard on $DASHBOARD_URL (log in $STATE/logs/dashboard.log)"
rm -f "$EGOV_VIEWS_API_TOKENS_FILE"
# In the environment, not in an argument: the step-6 check reads it from there.
export DEMO_VIEWS_TOKEN
DEMO_VIEWS_TOKEN="$("$EGOV" dashboard token --scope nation --name demo --file "$EGOV_VIEWS_API_TOKENS_FILE")"
EGOV_ENV_FILE="$PRINCIPALS/views-api.env" "$EGOV" dashboard --port "$DASHBOARD_PORT" > "$STATE/logs/dashboard.log" 2>&1 &
DASHBOARD_PID=$!
IFS=',' read -r -a REGION_LIST <<< "$REGIONS"
echo "== 4. ${#REGION_LIST[@]} regions enrolled, each with its own SCRAM credential (settings in $PRINCIPALS)"
KEYS="$STATE/keys"
mkdir -p "$KEYS"
for code in "${REGION_LIST[@]}"; do
  "$EGOV" users add --region "$code" --env-file "$PRINCIPALS/region-$code.env"
  # The region makes its signing key (the private half stays in $KEYS, owner-only) and hands the
  # public key record to the operator, who registers it in egov.keys.
  "$EGOV" keys new --region "$code" --dir "$KEYS" | "$EGOV" keys register - > /dev/null
done
"$EGOV" keys list
PER_REGION=$(python3 -c "print(max(0.1, $RATE / ${#REGION_LIST[@]}))")
echo "== 5. each region publishes as itself, every batch signed with its key: $PER_REGION events/s for $SECONDS_TO_RUN s (logs in $STATE/logs/simulate-*.log)"
for i in "${!REGION_LIST[@]}"; do
  code="${REGION_LIST[$i]}"
  EGOV_ENV_FILE="$PRINCIPALS/region-$code.env" EGOV_SPOOL_DIR="$STATE/spool/region-$code" \
    EGOV_SIGNING_KEY_FILE="$KEYS/$code.key" \
    "$EGOV" simulate --regions "$code" --rate "$PER_REGION" --duration "$SECONDS_TO_RUN" --seed $((7 + i)) \
    > "$STATE/logs/simulate-$code.log" 2>&1 &
  SIM_PIDS+=($!)
done
for i in "${!SIM_PIDS[@]}"; do
  if ! wait "${SIM_PIDS[$i]}"; then
    echo "region ${REGION_LIST[$i]}: the simulator failed; its log:" >&2
    tail -5 "$STATE/logs/simulate-${REGION_LIST[$i]}.log" >&2
    exit 1
  fi
  grep -h "^simulated" "$STATE/logs/simulate-${REGION_LIST[$i]}.log" | sed "s/^/   region ${REGION_LIST[$i]}: /"
done
echo "   a region may not read what it published, nor write a view (the broker says):"
EGOV_ENV_FILE="$PRINCIPALS/region-${REGION_LIST[0]}.env" "$EGOV" tail budgeting --limit 1 2>&1 | tail -1 | sed 's/^/   /' || true
echo "== 6. central views (compacted topics egov.view.*, read by the operator with egov-bus views)"
# The worker commits every 100 ms: wait until every region's events are in the integration index.
# A bounded wait on a condition: the rows counted, not a fixed sleep.
for _ in $(seq 1 60); do
  rows="$("$EGOV" views integration_index --limit 0 2>/dev/null | grep -o '[0-9]* row(s)' | grep -o '^[0-9]*' || true)"
  [ -n "$rows" ] && [ "$rows" -ge "${#REGION_LIST[@]}" ] && break
  sleep 1
done
"$EGOV" views integration_index --limit 8
"$EGOV" views budget_absorption --limit 5
"$EGOV" views complaint_service_level --limit 5
"$EGOV" views licensing_throughput --limit 5
echo "== 7. views API and dashboard"
.venv/bin/python - "$DASHBOARD_URL" <<'PY'
import os, sys, time
import httpx
url = sys.argv[1]
auth = {"Authorization": f"Bearer {os.environ['DEMO_VIEWS_TOKEN']}"}
deadline = time.monotonic() + 60
while True:
    try:
        res = httpx.get(f"{url}/healthz", timeout=2)
        if res.status_code == 200:
            break
    except httpx.HTTPError:
        pass
    if time.monotonic() > deadline:
        sys.exit(f"dashboard not healthy within 60 s; see the log")
    time.sleep(0.5)
nation = httpx.get(f"{url}/views/integration_index", params={"level": "nation"}, headers=auth, timeout=10).json()["rows"]
if nation:
    r = nation[0]
    print(f"integration index: {r['regions_publishing']} of {r['regions_total']} regions publishing ({r['integration_pct']}%), {r['events_total']} events")
PY
echo "dashboard:  $DASHBOARD_URL/"
echo "views API:  $DASHBOARD_URL/views  (e.g. $DASHBOARD_URL/views/budget_absorption?level=province)"
echo "== 8. the bus's health (egov-bus status, as the operator)"
"$EGOV" status || echo "(egov-bus status: exit $?, see the line above)"
if [ "${DEMO_KEEP:-0}" = "1" ]; then
  # Shown only when someone is going to use the page: it asks for this token (nation scope, this demo only).
  echo "access token: $DEMO_VIEWS_TOKEN"
  echo "  (paste it into the page; curl -H \"Authorization: Bearer <token>\" $DASHBOARD_URL/views/integration_index?level=nation)"
  echo "DEMO_KEEP=1: stack, worker and dashboard keep running; press Ctrl-C to stop them all"
  wait "$DASHBOARD_PID" || true
else
  echo "(the demo now stops everything; run DEMO_KEEP=1 make demo to keep it running until Ctrl-C)"
fi
