#!/usr/bin/env bash
# `make bench [BENCH=publish|process|e2e|gateway]`: the benchmarks against a private local stack (stopped at the end).
# Without BENCH (or BENCH=all) all four run: B1 publish, B2 process, B3 e2e, B4 gateway (it needs wrk, the
# Debian package: installed here when missing, through deploy/tools/system-deps.sh wrk).
# `deploy/bench.sh NAME [ARGS...]` runs one benchmark with its own arguments (e.g. `process --events 50000`).
# Each runs from the repository root as a module (`.venv/bin/python -m bench.NAME`): bench/ imports the
# public API of the installed packages, with no sys.path hack.
# Results go to bench/results/*.json; docs/benchmarks.md records them. At the end, every target of the
# benchmarks that ran against its measured figure (bench/summary.py over the result files they wrote).
set -euo pipefail
cd "$(dirname "$0")/.."
EGOV=.venv/bin/egov-bus
STATE=.egov/bench
WHICH="${1:-${BENCH:-all}}"
[ $# -gt 0 ] && shift
case "$WHICH" in
  all|publish|process|e2e|gateway) ;;
  *) echo "unknown benchmark '$WHICH' (publish, process, e2e, gateway or all)" >&2; exit 2 ;;
esac
if [ "$WHICH" = all ] || [ "$WHICH" = gateway ]; then
  deploy/tools/system-deps.sh wrk  # before the stack starts: a missing wrk fails fast
fi
export EGOV_ENV_FILE="$STATE/dev.env"
export EGOV_PSEUDONYM_KEY="${EGOV_PSEUDONYM_KEY:-bench-only-pseudonym-key-not-secret}"
trap '"$EGOV" dev down --state-dir "$STATE" || true' EXIT INT TERM
"$EGOV" dev up --state-dir "$STATE"
SINCE=$(date +%s)
RESULTS=()
for name in publish process e2e gateway; do
  if [ "$WHICH" = all ] || [ "$WHICH" = "$name" ]; then
    echo "== bench/$name.py"
    .venv/bin/python -m "bench.$name" "$@"
    out="bench/results/$name.json" prev=""
    for arg in "$@"; do  # the result file, should --output have moved it
      case "$arg" in --output=*) out="${arg#--output=}" ;; esac
      [ "$prev" = --output ] && out="$arg"
      prev="$arg"
    done
    RESULTS+=("$out")
  fi
done
.venv/bin/python -m bench.summary --since "$SINCE" "${RESULTS[@]}"
