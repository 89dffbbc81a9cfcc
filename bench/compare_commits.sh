#!/usr/bin/env bash
# B1 (bench/publish.py) of two source trees in one session, interleaved, against the same stack.
#
#   bench/compare_commits.sh BEFORE_TREE AFTER_TREE [PAIRS] [-- bench/publish.py args...]
#
# Make the trees with `git worktree add --detach /tmp/b1-before <commit>` (and one for the other
# commit); each run imports the code of its own tree (PYTHONPATH), with this checkout's venv. Runs
# PAIRS pairs (default 6) in ABBA order (before, after, after, before, ...) so that drift on a shared
# machine hits both alike, and prints, from each run's median SDK rate (events/s), the per-pair
# ratios after/before, their median, and the best run of each tree. Needs a stack: EGOV_* set
# (`set -a; . <state>/dev.env; set +a`). Each run's JSON goes to $OUT (default /tmp/b1-compare).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="$PWD/.venv/bin/python"
BEFORE="$(cd "$1" && pwd)"
AFTER="$(cd "$2" && pwd)"
PAIRS="${3:-6}"
shift 2
[ $# -gt 0 ] && [ "$1" != "--" ] && shift
[ $# -gt 0 ] && [ "$1" = "--" ] && shift
OUT="${OUT:-/tmp/b1-compare}"
mkdir -p "$OUT"
run() {  # run TREE LABEL INDEX
  (cd "$1" && PYTHONPATH="$1" "$PY" bench/publish.py --output "$OUT/$2-$3.json" "${ARGS[@]}" > "$OUT/$2-$3.log")
  echo "$2 run $3: $("$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["median"]["sdk_events_per_s"], "events/s (median of its rounds), best round", r["events_per_s"])' "$OUT/$2-$3.json")"
}
ARGS=("$@")
for i in $(seq 1 "$PAIRS"); do
  if [ $((i % 2)) -eq 1 ]; then run "$BEFORE" before "$i"; run "$AFTER" after "$i"
  else run "$AFTER" after "$i"; run "$BEFORE" before "$i"; fi
done
"$PY" - "$OUT" "$PAIRS" <<'EOF'
import json, statistics, sys
out, pairs = sys.argv[1], int(sys.argv[2])
def load(label, i):
    return json.load(open(f"{out}/{label}-{i}.json"))
before = [load("before", i) for i in range(1, pairs + 1)]
after = [load("after", i) for i in range(1, pairs + 1)]
med = lambda runs: [r["median"]["sdk_events_per_s"] for r in runs]
best = lambda runs: [r["events_per_s"] for r in runs]
ratios = [a / b for a, b in zip(med(after), med(before))]
print(f"per-pair ratios sdk-after / sdk-before: {' '.join(f'{x:.3f}' for x in ratios)}")
print(f"median of per-pair ratios: {statistics.median(ratios):.3f}")
print(f"best run: before {max(best(before)):,} events/s, after {max(best(after)):,} events/s "
      f"(ratio {max(best(after)) / max(best(before)):.3f})")
print(f"median rate: before {statistics.median(med(before)):,.0f}, after {statistics.median(med(after)):,.0f} events/s")
print(f"sdk / fastavro (median of each run's headline): before "
      f"{statistics.median(r['ratio_vs_fastavro_median'] for r in before):.3f}, after "
      f"{statistics.median(r['ratio_vs_fastavro_median'] for r in after):.3f}")
EOF
