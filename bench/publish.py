"""B1: publishing throughput of the SDK against its two lower bounds.

In one run, against a real broker and registry, for the same N events:

(a) ``fastavro``: fastavro's ``schemaless_writer`` encoding the records alone
    (``Model.to_avro()`` dicts prepared beforehand, parsed schema, one
    ``BytesIO`` per record) — no Kafka at all;
(b) ``raw_produce``: a bare confluent-kafka ``Producer`` (idempotent,
    acks=all, the same settings as the SDK's) producing the SDK's own
    pre-encoded values, keys and headers, then ``flush()``;
(c) ``sdk``: ``Publisher.publish_many(events)`` + ``flush()`` on typed events
    (built and validated beforehand): encode, CloudEvents headers, raw-NIK
    guard, produce, delivery reports, ack counting.

Model construction (pydantic validation) is user-side work done before the
SDK is called; it is measured and reported separately (``model_build``).
Each measurement runs ``--rounds`` times, interleaved; the best round counts
(the machine is shared, the best round is the least disturbed one).
Writes ``bench/results/publish.json``.

    .venv/bin/python bench/publish.py [--events 50000] [--rounds 5] [--event-type BudgetAllocated]
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import fastavro
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from adapters.sdk import Publisher  # noqa: E402
from bus.settings import load_settings  # noqa: E402
from schemas import event_type as lookup  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "publish.json"
TARGET_RATIO_VS_FASTAVRO = 0.7


def sample_fields(name: str, i: int) -> dict[str, Any]:
    """Realistic fields for the benchmarked event types."""
    if name == "BudgetAllocated":
        return {
            "allocation_id": f"DPA-2025-{i:08d}",
            "fiscal_year": 2025,
            "agency_code": "1.02.0.00.0.00.01.0000",
            "program_code": "1.02.02",
            "activity_code": "1.02.02.2.01",
            "sub_activity_code": "1.02.02.2.01.0003",
            "amount": f"{1_250_000 + i * 37}.50",
        }
    if name == "ComplaintReceived":
        return {"complaint_id": f"LAPOR-{i:09d}", "category": "infrastruktur", "channel": "web",
                "district_code": "32.01.01", "is_anonymous": False}
    raise SystemExit(f"no sample fields for {name}; use BudgetAllocated or ComplaintReceived")


def build_events(name: str, n: int) -> list[Any]:
    model = lookup(name).model
    regions = ["32.01", "32.02", "33.01", "35.78", "31.71", "51", "64.72", "11.01"]
    start = datetime(2025, 3, 1, tzinfo=timezone.utc)
    return [
        model.new(region_code=regions[i % len(regions)] if name != "ComplaintReceived" else "32.01",
                  source_system="sipd", occurred_at=start + timedelta(seconds=i), **sample_fields(name, i))
        for i in range(n)
    ]


def timed(fn: Callable[[], None]) -> float:
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--event-type", default="BudgetAllocated")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--profile", type=Path, help="write a cProfile of one SDK round here")
    args = parser.parse_args(argv)

    settings = load_settings(spool_dir=tempfile.mkdtemp(prefix="egov-bench-spool-"))
    et = lookup(args.event_type)
    topic = f"bench.publish.{uuid.uuid4().hex[:8]}"
    admin = AdminClient(settings.librdkafka_config())
    admin.create_topics([NewTopic(topic, 6, 1)])[topic].result(30)

    t0 = time.perf_counter()
    events = build_events(args.event_type, args.events)
    model_build_s = time.perf_counter() - t0
    records = [e.to_avro() for e in events]
    parsed = et.parsed_schema

    publisher = Publisher(settings, source_system="bench", component="bench", topic_for=lambda _et: topic)
    codec = publisher.codec(et)
    # (b) gets exactly what the SDK sends.
    encoded = [(e.envelope.region_code.encode(), codec.encode_event(e), codec.headers(e.envelope)) for e in events]
    assert encoded[0][1][5:] == codec.encode(records[0])[5:], "physical and logical encodings differ"
    raw = Producer(settings.librdkafka_config(**{
        "enable.idempotence": True, "acks": "all", "linger.ms": 5, "compression.type": "lz4",
        "delivery.timeout.ms": int(settings.delivery_timeout_s * 1000),
    }))

    def run_fastavro() -> None:
        for record in records:
            buf = io.BytesIO()
            fastavro.schemaless_writer(buf, parsed, record)
            buf.getvalue()

    def run_raw() -> None:
        produce = raw.produce
        for key, value, headers in encoded:
            while True:
                try:
                    produce(topic, value, key, headers=headers)
                    break
                except BufferError:
                    raw.poll(0.05)
        remaining = raw.flush(60)
        assert remaining == 0

    def run_sdk() -> None:
        publisher.publish_many(events)
        publisher.flush(60)

    # Warm up every path once (registry ids, connections, code paths).
    run_fastavro(), run_raw(), run_sdk()
    rounds: dict[str, list[float]] = {"fastavro": [], "raw_produce": [], "sdk": []}
    for _ in range(args.rounds):
        rounds["fastavro"].append(timed(run_fastavro))
        rounds["raw_produce"].append(timed(run_raw))
        rounds["sdk"].append(timed(run_sdk))
    if args.profile:
        import cProfile

        cProfile.runctx("run_sdk()", globals(), {"run_sdk": run_sdk}, str(args.profile))
    publisher.close()

    n = args.events
    best = {k: n / min(v) for k, v in rounds.items()}
    median = {k: n / statistics.median(v) for k, v in rounds.items()}
    result = {
        "benchmark": "B1 publish",
        "events_per_s": round(best["sdk"]),
        "ratio_vs_fastavro": round(best["sdk"] / best["fastavro"], 3),
        "ratio_vs_raw_produce": round(best["sdk"] / best["raw_produce"], 3),
        "target_ratio_vs_fastavro": TARGET_RATIO_VS_FASTAVRO,
        "fastavro_events_per_s": round(best["fastavro"]),
        "raw_produce_events_per_s": round(best["raw_produce"]),
        "median": {
            "events_per_s": round(median["sdk"]),
            "ratio_vs_fastavro": round(median["sdk"] / median["fastavro"], 3),
            "ratio_vs_raw_produce": round(median["sdk"] / median["raw_produce"], 3),
        },
        "model_build_events_per_s": round(n / model_build_s),
        "sdk_including_model_build_ratio_vs_fastavro": round(
            (n / (min(rounds["sdk"]) + model_build_s)) / best["fastavro"], 3
        ),
        "params": {
            "events": n,
            "rounds": args.rounds,
            "event_type": args.event_type,
            "value_bytes": len(encoded[0][1]),
            "partitions": 6,
            "producer": {"enable.idempotence": True, "acks": "all", "linger.ms": 5, "compression.type": "lz4"},
        },
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(),
            "load_avg_1m": round(os.getloadavg()[0], 2),
        },
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"B1 publish ({n} x {args.event_type}, best of {args.rounds}):\n"
        f"  fastavro encode only : {best['fastavro']:>10,.0f} events/s\n"
        f"  raw produce          : {best['raw_produce']:>10,.0f} events/s\n"
        f"  SDK publish          : {best['sdk']:>10,.0f} events/s\n"
        f"  SDK / fastavro       : {result['ratio_vs_fastavro']:.2f}  (target >= {TARGET_RATIO_VS_FASTAVRO})\n"
        f"  SDK / raw produce    : {result['ratio_vs_raw_produce']:.2f}\n"
        f"  model build (user)   : {result['model_build_events_per_s']:>10,} events/s\n"
        f"  -> {args.output}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
