"""B2: throughput of the aggregating processors against two baselines, in one run.

N simulated events (the SDK's encoding, 15 theme topics x 12 partitions) are
pre-loaded on a fresh prefixed catalogue. Then, each round, each reader on a
fresh consumer group reads the same N events from the beginning:

(a) ``raw``: a plain confluent-kafka ``Consumer`` loop (``consume(10000)``)
    decoding every value with the registry serde (``bus.serde.AvroDeserializer``,
    writer schemas warmed) — no aggregation, nothing produced;
(b) ``faust_plain``: a per-event Faust agent (``bench/faust_plain.py``,
    aiokafka transport, no tables) decoding every value with the same serde,
    as its own process;
(c) ``worker``: ``egov-bus process --workers 1`` as a real process — decode,
    transform, validate, dedupe, aggregate, route, view rows, changelog, offsets
    (in one transaction per partition under exactly-once).

Timing: one window for every reader, from the moment it owns its partitions
to the moment the N-th event is done; rate = N / window. The window thus
includes each reader's first fetch, and for the Faust readers Faust's own
work after the assignment (for the worker: recovering its empty table).

* start: (a) ``assign()`` returned; (b), (c) the broker reports the consumer
  group Stable with its member assigned (DescribeConsumerGroups, polled every
  25 ms);
* end: (a), (b) the N-th value decoded (taken inside the loop/agent);
  (c) the first poll (every 25 ms: one ListConsumerGroupOffsets and one
  ListOffsets request, read_committed) that finds every theme partition
  committed up to its end, i.e. group lag 0 — under exactly-once that is when
  the last transaction (views, routed copies, changelog, offsets) committed.

The start-up (process spawn to the group Stable) is reported apart as
``startup_s``. The worker's window also includes what Faust does after the
assignment before it commits anything (under exactly-once: starting one
transactional producer per partition); the time from Stable to the first
commit (``first_commit_after_stable_s``) and the rate after it
(``steady_events_per_s``) are reported next to the headline, not instead
of it.

Each round runs the readers one after another (interleaved, never
concurrently); the best round of each counts (the machine is shared), the
median is reported next to it. Writes ``bench/results/process.json``.

    .venv/bin/python bench/process.py [--events 200000] [--rounds 3] [--guarantees exactly_once,at_least_once]
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

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    ROOT, Lag, WorkerProcess, encode_events, machine, new_prefix, now_iso, produce_all, provision,
)
from bus.serde import AvroDeserializer, make_registry_client, unpack_header  # noqa: E402
from bus.devstack.process import stop_child  # noqa: E402
from bus.settings import load_settings  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "process.json"
TARGET_EVENTS_PER_S = 100_000
TARGET_RATIO_VS_RAW = 0.5
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
    proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "faust_plain.py")], stdout=log,
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


def run_worker(settings: Any, prefix: str, lag: Lag, preload_ends: dict[tuple[str, int], int], guarantee: str, timeout: float,
               log_dir: Path) -> dict[str, float]:
    """(c): ``egov-bus process`` from its group Stable until lag 0; start-up apart."""
    worker = WorkerProcess(settings, prefix, guarantee, log_dir)
    group = worker.app_id
    stable_t = None
    trace: list[tuple[float, int]] = []  # (seconds since Stable, preloaded records committed)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if not worker.alive():
                raise RuntimeError(f"worker exited (rc={worker.proc.returncode}):\n{worker.tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"worker lag not 0 within {timeout}s:\n{worker.tail()}")
            t = time.time()
            if stable_t is None:
                if lag.stable(group):
                    stable_t = t
            else:
                committed = lag.committed(group)
                t = time.time()  # the committed offsets are at least this old
                if committed:
                    done = sum(min(committed.get(tp, 0), end) for tp, end in preload_ends.items())
                    if not trace or trace[-1][1] != done:
                        trace.append((round(t - stable_t, 3), done))
                    ends = lag.ends()
                    if all(committed.get(tp, 0) >= end for tp, end in ends.items() if end > 0):
                        end_t = t
                        break
            time.sleep(POLL_S)  # polling a condition (group state, committed offsets), with a deadline
    finally:
        worker.stop()
    total = sum(preload_ends.values())
    first_s, first_done = trace[0]
    return {
        "events_per_s": total / (end_t - stable_t),
        "startup_s": stable_t - worker.started,
        "window_s": end_t - stable_t,
        # After the first commit: the steady rate, without Faust's post-assignment work
        # (under exactly-once: one transactional producer per partition) and the first batch.
        "first_commit_s": first_s,
        "steady_events_per_s": (total - first_done) / (end_t - stable_t - first_s) if end_t - stable_t > first_s else None,
        "trace": trace,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--guarantees", default="exactly_once,at_least_once")
    parser.add_argument("--skip-faust", action="store_true", help="leave out the per-event Faust baseline")
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--timeout", type=float, default=300.0, help="per reader and round")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    guarantees = [g for g in args.guarantees.split(",") if g]

    settings = load_settings(spool_dir=tempfile.mkdtemp(prefix="egov-bench-spool-"))
    admin = AdminClient(settings.librdkafka_config())
    registry = make_registry_client(settings)
    log_dir = Path(tempfile.mkdtemp(prefix="egov-bench-process-"))
    prefix = new_prefix("p")
    topics = provision(admin, prefix)
    partitions = admin.list_topics(topics[0], timeout=10).topics[topics[0]].partitions.__len__()

    t0 = time.perf_counter()
    events, publisher = encode_events(settings, prefix, args.seed, args.events)
    publisher.close()
    encode_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    produce_all(settings, events)
    produce_s = time.perf_counter() - t0
    n = len(events)
    schema_ids = sorted({unpack_header(e.value) for e in events})
    value_bytes = statistics.mean(len(e.value) for e in events)
    del events
    lag = Lag(admin, topics, partitions)
    preload_ends = lag.ends()
    assert sum(preload_ends.values()) == n, (sum(preload_ends.values()), n)
    print(f"preloaded {n:,} events on {prefix} ({len(topics)} topics x {partitions} partitions): "
          f"encode {encode_s:.1f}s, produce {produce_s:.1f}s", flush=True)

    readers = ["raw"] + ([] if args.skip_faust else ["faust_plain"]) + [f"worker_{g}" for g in guarantees]
    rates: dict[str, list[float]] = {r: [] for r in readers}
    startups: dict[str, list[float]] = {r: [] for r in readers if r != "raw"}
    windows: dict[str, list[dict[str, float]]] = {r: [] for r in readers if r.startswith("worker_")}
    for round_no in range(1, args.rounds + 1):
        for reader in readers:
            if reader == "raw":
                rate = run_raw(settings, registry, schema_ids, topics, partitions, n, args.timeout)
            elif reader == "faust_plain":
                rate, startup = run_faust_plain(settings, lag, schema_ids, topics, n, args.timeout, log_dir)
                startups[reader].append(startup)
            else:
                res = run_worker(settings, prefix, lag, preload_ends, reader.removeprefix("worker_"), args.timeout, log_dir)
                rate = res["events_per_s"]
                startups[reader].append(res["startup_s"])
                windows[reader].append(res)
            rates[reader].append(rate)
            print(f"  round {round_no}: {reader:<24} {rate:>10,.0f} events/s", flush=True)

    best = {r: max(v) for r, v in rates.items()}
    median = {r: statistics.median(v) for r, v in rates.items()}
    workers = {}
    for g in guarantees:
        key = f"worker_{g}"
        workers[g] = {
            "events_per_s": round(best[key]),
            "ratio_vs_raw": round(best[key] / best["raw"], 3),
            "ratio_vs_faust_plain": round(best[key] / best["faust_plain"], 3) if "faust_plain" in best else None,
            "median_events_per_s": round(median[key]),
            "startup_s": round(min(startups[key]), 2),
            "rounds_events_per_s": [round(x) for x in rates[key]],
            "windows_s": [round(w["window_s"], 2) for w in windows[key]],
            "first_commit_after_stable_s": [round(w["first_commit_s"], 2) for w in windows[key]],
            "steady_events_per_s": [round(w["steady_events_per_s"] or 0) for w in windows[key]],
            "target_events_per_s_met": best[key] >= TARGET_EVENTS_PER_S,
            "target_ratio_vs_raw_met": best[key] / best["raw"] >= TARGET_RATIO_VS_RAW,
        }
    headline = workers[guarantees[0]] if guarantees else {}
    result = {
        "benchmark": "B2 process",
        "events_per_s": headline.get("events_per_s"),
        "ratio_vs_raw": headline.get("ratio_vs_raw"),
        "ratio_vs_faust_plain": headline.get("ratio_vs_faust_plain"),
        "processing_guarantee": guarantees[0] if guarantees else None,
        "targets": {
            "events_per_s_per_worker": TARGET_EVENTS_PER_S,
            "ratio_vs_raw": TARGET_RATIO_VS_RAW,
            "events_per_s_met": headline.get("target_events_per_s_met"),
            "ratio_vs_raw_met": headline.get("target_ratio_vs_raw_met"),
        },
        "workers": workers,
        "baselines": {
            "raw_events_per_s": round(best["raw"]),
            "raw_median_events_per_s": round(median["raw"]),
            "raw_rounds_events_per_s": [round(x) for x in rates["raw"]],
            **({
                "faust_plain_events_per_s": round(best["faust_plain"]),
                "faust_plain_median_events_per_s": round(median["faust_plain"]),
                "faust_plain_rounds_events_per_s": [round(x) for x in rates["faust_plain"]],
                "faust_plain_startup_s": round(min(startups["faust_plain"]), 2),
            } if "faust_plain" in best else {}),
        },
        "params": {
            "events": n,
            "rounds": args.rounds,
            "seed": args.seed,
            "topics": len(topics),
            "partitions_per_topic": partitions,
            "mean_value_bytes": round(value_bytes, 1),
            "workers": 1,
            "timing": "best round; N / window; window from partitions owned (raw: assign(); faust: group Stable) "
                      "to N-th event decoded (raw, faust_plain) or group lag 0 (worker); 25 ms polls",
        },
        "machine": machine(load_before),
        "when": now_iso(),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")

    lines = [f"B2 process ({n:,} events, best of {args.rounds}, 1 worker):",
             f"  {'reader':<26}{'events/s':>10}{'median':>10}{'/ raw':>8}{'/ faust':>9}{'start-up':>10}"]
    for r in readers:
        faust_ratio = f"{best[r] / best['faust_plain']:.2f}" if "faust_plain" in best else "-"
        startup = f"{min(startups[r]):.1f}s" if r in startups else "-"
        lines.append(f"  {r:<26}{best[r]:>10,.0f}{median[r]:>10,.0f}{best[r] / best['raw']:>8.2f}{faust_ratio:>9}"
                     f"{startup:>10}")
    for g, w in workers.items():
        lines.append(f"  targets ({g}): >= {TARGET_EVENTS_PER_S:,}/s per worker: "
                     f"{'met' if w['target_events_per_s_met'] else 'MISSED'}; >= {TARGET_RATIO_VS_RAW} x raw: "
                     f"{'met' if w['target_ratio_vs_raw_met'] else 'MISSED'}")
    lines.append(f"  load average {result['machine']['load_avg_before']} -> {result['machine']['load_avg_after']}")
    lines.append(f"  -> {args.output}")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
