"""B2: throughput of the aggregating processors against two baselines, in one run.

N simulated events (the SDK's encoding, 15 theme topics x 12 partitions) are
pre-loaded on a fresh prefixed catalogue. Then, each round, each reader on a
fresh consumer group reads the same N events from the beginning:

(a) ``raw``: a plain confluent-kafka ``Consumer`` loop (``consume(10000)``)
    decoding every value with the registry serde (``bus.serde.AvroDeserializer``,
    writer schemas warmed) — no aggregation, nothing produced;
(b) ``faust_plain``: a per-event Faust agent (``bench/faust_plain.py``,
    aiokafka transport, no tables) decoding every value with the same serde,
    as its own process (optional: ``--skip-faust`` leaves it out);
(c) ``worker_<guarantee>``: ``egov-bus process --workers 1`` as a real process —
    decode, transform, validate, dedupe, aggregate, route, view rows, changelog,
    offsets (transactional under exactly-once); one contender per
    ``--guarantees`` entry;
(d) ``worker_<guarantee>_xN``: ``egov-bus process --workers N`` as one process
    tree (the CLI spawns the N workers of one consumer group itself, each in
    its own subdirectory of the one data directory), for every N > 1 of
    ``--workers-list`` (default ``1,2``), under the first guarantee only.

Timing: one window for every reader, from the moment it owns its partitions
to the moment the N-th event is done; rate = N / window. The window thus
includes each reader's first fetch, and for the Faust readers Faust's own
work after the assignment (for the worker: recovering its empty table).

* start: (a) ``assign()`` returned; (b), (c), (d) the broker reports the
  consumer group Stable with all its members (N for (d)) joined and each one
  assigned partitions (DescribeConsumerGroups, polled every 25 ms). Should a
  worker tree have committed any pre-loaded record by then (its first member
  worked alone before the last one joined), its window starts instead at the
  first poll that saw any member assigned (``window_from``), so no work is
  done outside the window;
* end: (a), (b) the N-th value decoded (taken inside the loop/agent);
  (c), (d) the first poll (every 25 ms: one ListConsumerGroupOffsets and one
  ListOffsets request, read_committed) that finds every theme partition
  committed up to its end, i.e. group lag 0 — under exactly-once that is when
  the last transaction (views, routed copies, changelog, offsets) committed.

The start-up (process spawn to the group Stable) is reported apart as
``startup_s``. The worker's window also includes what it does after the
assignment before it commits anything; the time from Stable to the first
commit (``first_commit_after_stable_s``) and the rate after it
(``steady_events_per_s``) are reported next to the headline, not instead
of it.

Rounds: each round runs the readers one after another (interleaved, never
concurrently), ``raw`` first. For every worker contender the ratio
worker ÷ raw is taken from the rates of the same round; the headline is the
**median of these per-round ratios** (``ratio_vs_raw_median``, judged against
the target 0.7, for the 1-worker contender under the first guarantee), since
on a shared, noisy machine a ratio within one round cancels what both readers
suffered alike. Next to it: each reader's best round and median rate, and the
ratio of the best rounds (``ratio_vs_raw``). Writes ``bench/results/process.json``.

    .venv/bin/python -m bench.process [--events 200000] [--rounds 3] [--guarantees exactly_once,at_least_once]
        [--workers-list 1,2] [--skip-faust]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from bench.common import (
    ROOT, Lag, WorkerProcess, encode_events, machine, new_prefix, now_iso, produce_all, provision, round_ratios,
    sign_as_regions, verdict,
)
from bus.serde import AvroDeserializer, make_registry_client, unpack_header
from bus.settings import load_settings
from devtools.devstack.process import stop_child

RESULTS = ROOT / "bench" / "results" / "process.json"
TARGET_RATIO_VS_RAW = 0.7
#: Issue 14: verifying every record's signature costs at most half the worker's throughput.
TARGET_VERIFIED_VS_PLAIN = 0.5
POLL_S = 0.025


def run_raw(settings: Any, registry: Any, schema_ids: list[int], topics: list[str], partitions: int, n: int,
            timeout: float) -> float:
    """(a): consume + decode N records; returns events/s from ``assign()`` to the N-th record."""
    decode = AvroDeserializer(registry)
    decode.warm(schema_ids)
    consumer = Consumer(settings.librdkafka_config(**{
        "group.id": f"bench-raw-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
    }))
    consumer.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t in topics for p in range(partitions)])
    first = time.perf_counter()
    count = 0
    deadline = time.monotonic() + timeout
    try:
        while count < n:
            if time.monotonic() > deadline:
                raise RuntimeError(f"raw loop read {count} of {n} records in {timeout}s")
            msgs = consumer.consume(10_000, 0.5)
            for msg in msgs:
                if msg.error():
                    continue
                decode(msg.value(), msg.topic())
                count += 1
        last = time.perf_counter()
    finally:
        consumer.close()
    return count / (last - first)


def run_faust_plain(settings: Any, lag: Lag, schema_ids: list[int], topics: list[str], n: int, timeout: float,
                    log_dir: Path) -> tuple[float, float]:
    """(b): the per-event Faust agent as a process; returns (events/s, start-up s)."""
    app_id = f"bench-faust-{uuid.uuid4().hex[:8]}"
    result = log_dir / f"{app_id}.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("EGOV_")}
    env.update(
        EGOV_BOOTSTRAP_SERVERS=settings.bootstrap_servers, EGOV_SCHEMA_REGISTRY_URL=settings.schema_registry_url,
        BENCH_APP_ID=app_id, BENCH_TOPICS=",".join(topics), BENCH_SCHEMA_IDS=",".join(map(str, schema_ids)),
        BENCH_EVENTS=str(n), BENCH_RESULT=str(result),
    )
    log = open(log_dir / f"{app_id}.log", "wb")
    started = time.time()
    proc = subprocess.Popen([sys.executable, "-m", "bench.faust_plain"], cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT, env=env)
    stable_t = None
    try:
        deadline = time.monotonic() + timeout
        while not result.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"faust_plain did not finish (rc={proc.poll()}); see {log.name}")
            if stable_t is None:
                t = time.time()
                if lag.stable(app_id):
                    stable_t = t
            time.sleep(POLL_S)  # polling a condition (group state, result file), with a deadline
        data = json.loads(result.read_text())
    finally:
        stop_child(proc)
        log.close()
    if stable_t is None or stable_t > data["first"]:
        raise RuntimeError("faust_plain: the group was not seen Stable before its first event")
    return data["events"] / (data["last"] - stable_t), stable_t - started


def run_worker(settings: Any, prefix: str, lag: Lag, preload_ends: dict[tuple[str, int], int], guarantee: str,
               workers: int, timeout: float, log_dir: Path, verify: bool = False, audit: bool = True) -> dict[str, Any]:
    """(c), (d): ``egov-bus process --workers N`` from its group Stable (all N members assigned) until lag 0."""
    worker = WorkerProcess(settings, prefix, guarantee, log_dir, workers=workers, verify=verify, audit=audit)
    group = worker.app_id
    owned_t = stable_t = start_t = None
    before_stable = 0
    trace: list[tuple[float, int]] = []  # (seconds since Stable, preloaded records committed)

    def done(committed: dict[tuple[str, int], int]) -> int:
        return sum(min(committed.get(tp, 0), end) for tp, end in preload_ends.items())

    try:
        deadline = time.monotonic() + timeout
        while True:
            if not worker.alive():
                raise RuntimeError(f"worker exited (rc={worker.proc.returncode}):\n{worker.tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"worker lag not 0 within {timeout}s:\n{worker.tail()}")
            t = time.time()
            if stable_t is None:
                present, owning = lag.assigned(group)
                if owning and owned_t is None:
                    owned_t = t
                if present >= workers and owning == present:
                    stable_t = t
                    before_stable = done(lag.committed(group))
                    start_t = owned_t if before_stable else stable_t
            else:
                committed = lag.committed(group)
                t = time.time()  # the committed offsets are at least this old
                if committed:
                    count = done(committed)
                    if not trace or trace[-1][1] != count:
                        trace.append((round(t - stable_t, 3), count))
                    ends = lag.ends()
                    if all(committed.get(tp, 0) >= end for tp, end in ends.items() if end > 0):
                        end_t = t
                        break
            time.sleep(POLL_S)  # polling a condition (group state, committed offsets), with a deadline
    finally:
        worker.stop()
    total = sum(preload_ends.values())
    first_s, first_done = trace[0]
    window = end_t - start_t
    return {
        "events_per_s": total / window,
        "startup_s": stable_t - worker.started,
        "window_s": window,
        "window_from": "first_assignment" if before_stable else "stable",
        "committed_before_stable": before_stable,
        # After the first commit: the steady rate, without the post-assignment work and the first batch.
        "first_commit_s": first_s,
        "steady_events_per_s": (total - first_done) / (end_t - stable_t - first_s) if end_t - stable_t > first_s else None,
        "trace": trace,
    }


def worker_contenders(guarantees: list[str], counts: list[int], verify: bool = True,
                      audit_off: bool = False) -> dict[str, tuple[str, int, bool]]:
    """Reader name -> (guarantee, workers, verify): every guarantee with 1 worker, the first one with N > 1,
    and the first one with 1 worker verifying signatures (``worker_<g>_verified``)."""
    out: dict[str, tuple[str, int, bool]] = {}
    for count in counts:
        for g in guarantees if count == 1 else guarantees[:1]:
            out[f"worker_{g}" if count == 1 else f"worker_{g}_x{count}"] = (g, count, False)
    if verify and guarantees:
        out[f"worker_{guarantees[0]}_verified"] = (guarantees[0], 1, True)
    if audit_off and guarantees:
        out[f"worker_{guarantees[0]}_no_audit"] = (guarantees[0], 1, False)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--guarantees", default="exactly_once,at_least_once",
                        help="1-worker contenders; worker trees (N > 1) run under the first one")
    parser.add_argument("--workers-list", default="1,2", help="worker counts to run, e.g. 1,2")
    parser.add_argument("--skip-faust", action="store_true", help="leave out the per-event Faust baseline")
    parser.add_argument("--audit-off", action="store_true",
                        help="also run worker_<guarantee>_no_audit (EGOV_AUDIT_LOG=false): the audit log's cost")
    parser.add_argument("--skip-verify", action="store_true",
                        help="leave out the worker that verifies signatures (worker_<guarantee>_verified)")
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--timeout", type=float, default=300.0, help="per reader and round")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    guarantees = [g for g in args.guarantees.split(",") if g]
    counts = [int(c) for c in args.workers_list.split(",") if c]
    contenders = worker_contenders(guarantees, counts, verify=not args.skip_verify, audit_off=args.audit_off)
    if not contenders or any(c < 1 for c in counts):
        parser.error("no worker contender: give --guarantees and --workers-list (counts >= 1)")

    settings = load_settings(spool_dir=tempfile.mkdtemp(prefix="egov-bench-spool-"))
    admin = AdminClient(settings.librdkafka_config())
    registry = make_registry_client(settings)
    log_dir = Path(tempfile.mkdtemp(prefix="egov-bench-process-"))
    prefix = new_prefix("p")
    topics = provision(admin, prefix)
    partitions = len(admin.list_topics(topics[0], timeout=10).topics[topics[0]].partitions)

    t0 = time.perf_counter()
    events, publisher = encode_events(settings, prefix, args.seed, args.events)
    publisher.close()
    # Signed in every run, so that the verifying worker and the others read the same records.
    signatures = sign_as_regions(settings, prefix, events)
    encode_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    produce_all(settings, events)
    produce_s = time.perf_counter() - t0
    n = len(events)
    schema_ids = sorted({unpack_header(e.value) for e in events})
    value_bytes = statistics.mean(len(e.value) for e in events)
    del events
    lag = Lag(admin, topics, partitions, settings)
    preload_ends = lag.ends()
    assert sum(preload_ends.values()) == n, (sum(preload_ends.values()), n)
    print(f"preloaded {n:,} events on {prefix} ({len(topics)} topics x {partitions} partitions, "
          f"{signatures:,} signed batches): encode and sign {encode_s:.1f}s, produce {produce_s:.1f}s", flush=True)

    readers = ["raw"] + ([] if args.skip_faust else ["faust_plain"]) + list(contenders)
    rates: dict[str, list[float]] = {r: [] for r in readers}
    startups: dict[str, list[float]] = {r: [] for r in readers if r != "raw"}
    windows: dict[str, list[dict[str, Any]]] = {r: [] for r in contenders}
    for round_no in range(1, args.rounds + 1):
        for reader in readers:
            if reader == "raw":
                rate = run_raw(settings, registry, schema_ids, topics, partitions, n, args.timeout)
            elif reader == "faust_plain":
                rate, startup = run_faust_plain(settings, lag, schema_ids, topics, n, args.timeout, log_dir)
                startups[reader].append(startup)
            else:
                guarantee, count, verify = contenders[reader]
                res = run_worker(settings, prefix, lag, preload_ends, guarantee, count, args.timeout, log_dir,
                                 verify=verify, audit=not reader.endswith("_no_audit"))
                rate = res["events_per_s"]
                startups[reader].append(res["startup_s"])
                windows[reader].append(res)
            rates[reader].append(rate)
            ratio = f"  {rate / rates['raw'][-1]:.2f} x raw" if reader != "raw" else ""
            print(f"  round {round_no}: {reader:<26} {rate:>10,.0f} events/s{ratio}", flush=True)

    lag.close()
    result = summarize(args, readers, contenders, rates, startups, windows)
    result["params"].update(events=n, topics=len(topics), partitions_per_topic=partitions,
                            mean_value_bytes=round(value_bytes, 1))
    result["machine"] = machine(load_before)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(report(result, readers, rates, startups, args.output))
    return 0


def summarize(args: argparse.Namespace, readers: list[str], contenders: dict[str, tuple[str, int]],
              rates: dict[str, list[float]], startups: dict[str, list[float]],
              windows: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The result file: per worker contender its rates, per-round ratios and target verdict."""
    best = {r: max(v) for r, v in rates.items()}
    median = {r: statistics.median(v) for r, v in rates.items()}
    faust = "faust_plain" in rates
    headline_name = next((r for r, (_g, count, verify) in contenders.items() if count == 1 and not verify),
                         next(iter(contenders)))
    workers: dict[str, dict[str, Any]] = {}
    targets = []
    for name, (guarantee, count, verify) in contenders.items():
        vs_raw = round_ratios(rates[name], rates["raw"])
        vs_faust = round_ratios(rates[name], rates["faust_plain"]) if faust else None
        who = "worker" if name == headline_name else name
        target = verdict(f"{who} ≥ {TARGET_RATIO_VS_RAW}× raw (median of per-round ratios)",
                         f"{vs_raw['median']:.3f}", vs_raw["median"] >= TARGET_RATIO_VS_RAW)
        targets.append({**target, "contender": name})
        workers[name.removeprefix("worker_")] = {
            "processing_guarantee": guarantee,
            "workers": count,
            "verifies_signatures": verify,
            "events_per_s": round(best[name]),
            "median_events_per_s": round(median[name]),
            "ratio_vs_raw_median": vs_raw["median"],
            "ratio_vs_raw": round(best[name] / best["raw"], 3),  # best round ÷ best round
            "ratio_vs_raw_rounds": vs_raw["rounds"],
            "ratio_vs_faust_plain_median": vs_faust["median"] if vs_faust else None,
            "ratio_vs_faust_plain": round(best[name] / best["faust_plain"], 3) if faust else None,
            "ratio_vs_faust_plain_rounds": vs_faust["rounds"] if vs_faust else None,
            "startup_s": round(min(startups[name]), 2),
            "rounds_events_per_s": [round(x) for x in rates[name]],
            "windows_s": [round(w["window_s"], 2) for w in windows[name]],
            "window_from": [w["window_from"] for w in windows[name]],
            "committed_before_stable": [w["committed_before_stable"] for w in windows[name]],
            "first_commit_after_stable_s": [round(w["first_commit_s"], 2) for w in windows[name]],
            "steady_events_per_s": [round(w["steady_events_per_s"] or 0) for w in windows[name]],
            "target_ratio_vs_raw_met": target["met"],
        }
    headline = workers[headline_name.removeprefix("worker_")]
    verified = next((n for n, (_g, _c, v) in contenders.items() if v), None)
    if verified is not None:
        plain = f"worker_{contenders[verified][0]}"
        vs_plain = round_ratios(rates[verified], rates[plain])
        signing_target = verdict(f"worker verifying ≥ {TARGET_VERIFIED_VS_PLAIN}× worker not verifying "
                                 "(median of per-round ratios)", f"{vs_plain['median']:.3f}",
                                 vs_plain["median"] >= TARGET_VERIFIED_VS_PLAIN)
        targets.append({**signing_target, "contender": verified})
        workers[verified.removeprefix("worker_")].update(
            ratio_vs_unverified_median=vs_plain["median"], ratio_vs_unverified_rounds=vs_plain["rounds"],
            ratio_vs_unverified=round(best[verified] / best[plain], 3))
    return {
        "benchmark": "B2 process",
        "headline": headline_name,
        "events_per_s": headline["events_per_s"],
        "ratio_vs_raw_median": headline["ratio_vs_raw_median"],
        "ratio_vs_raw": headline["ratio_vs_raw"],
        "ratio_vs_faust_plain_median": headline["ratio_vs_faust_plain_median"],
        "processing_guarantee": headline["processing_guarantee"],
        "target_ratio_vs_raw": TARGET_RATIO_VS_RAW,
        "target_met": headline["target_ratio_vs_raw_met"],
        "targets": targets,
        "workers": workers,
        "baselines": {
            "raw_events_per_s": round(best["raw"]),
            "raw_median_events_per_s": round(median["raw"]),
            "raw_rounds_events_per_s": [round(x) for x in rates["raw"]],
            **({
                "faust_plain_events_per_s": round(best["faust_plain"]),
                "faust_plain_median_events_per_s": round(median["faust_plain"]),
                "faust_plain_ratio_vs_raw_median": round_ratios(rates["faust_plain"], rates["raw"])["median"],
                "faust_plain_rounds_events_per_s": [round(x) for x in rates["faust_plain"]],
                "faust_plain_startup_s": round(min(startups["faust_plain"]), 2),
            } if faust else {}),
        },
        "params": {
            "rounds": args.rounds,
            "seed": args.seed,
            "readers": readers,
            "workers_list": sorted({c for _g, c, _v in contenders.values()}),
            "timing": "rounds interleaved, raw first; N / window; window from partitions owned (raw: assign(); "
                      "others: group Stable, all members assigned) to N-th event decoded (raw, faust_plain) or group "
                      "lag 0 (workers); 25 ms polls; headline: median of per-round ratios worker / raw",
        },
        "when": now_iso(),
    }


def report(result: dict[str, Any], readers: list[str], rates: dict[str, list[float]],
           startups: dict[str, list[float]], output: Path) -> str:
    """The printed table: best and median rate per reader, median of per-round ratios, the targets."""
    rounds = result["params"]["rounds"]
    lines = [f"B2 process ({result['params']['events']:,} events, {rounds} interleaved rounds; "
             f"x raw / x faust: median of per-round ratios, best: best round / best round):",
             f"  {'reader':<28}{'best':>10}{'median':>10}{'x raw':>8}{'(best)':>8}{'x faust':>9}{'start-up':>10}"]
    for r in readers:
        x_raw = f"{round_ratios(rates[r], rates['raw'])['median']:.2f}"
        x_faust = f"{round_ratios(rates[r], rates['faust_plain'])['median']:.2f}" if "faust_plain" in rates else "-"
        startup = f"{min(startups[r]):.1f}s" if r in startups else "-"
        lines.append(f"  {r:<28}{max(rates[r]):>10,.0f}{statistics.median(rates[r]):>10,.0f}{x_raw:>8}"
                     f"{max(rates[r]) / max(rates['raw']):>8.2f}{x_faust:>9}{startup:>10}")
    lines += [f"  {t['line']}" for t in result["targets"]]
    lines.append(f"  (target line 'worker' = {result['headline']})")
    lines.append(f"  load average {result['machine']['load_avg_before']} -> {result['machine']['load_avg_after']}")
    lines.append(f"  -> {output}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
