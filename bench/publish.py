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
    guard, produce, delivery reports, ack counting, unsigned;
(d) ``sdk_signed``: the same with every batch signed (a key per region of the
    events, one Ed25519 signature per region per 512-event batch, a Merkle proof
    per record: :mod:`adapters.sdk.signer`). Its per-round ratio to (c) is
    judged against the 0.5 target of issue 14.

Model construction (pydantic validation) is user-side work done before the
SDK is called; it is measured and reported separately (``model_build``).

Rounds: every path is warmed once, then each round times (a), (b), (c) one
after another (interleaved, never concurrently), ``--rounds`` rounds. For
each round the ratios SDK ÷ fastavro and SDK ÷ raw produce are taken from the
rates of that same round; the headline is the **median of these per-round
ratios** (``ratio_vs_fastavro_median``, judged against the 0.7 target), since
on a shared, noisy machine a ratio within one round cancels what both paths
suffered alike. Next to it: the best round of each path and the ratio of the
best rounds (``ratio_vs_fastavro``; the least disturbed rounds, possibly not
the same round), the median rate of each path and the per-round ratio lists.
Writes ``bench/results/publish.json``.

    .venv/bin/python -m bench.publish [--events 50000] [--rounds 5] [--event-type BudgetAllocated]
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
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

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from adapters.sdk import Publisher
from adapters.sdk.signer import BatchSigner
from schemas.signing import SigningKey
from bench.common import ROOT, machine, now_iso, round_ratios, verdict
from bus.settings import load_settings
from schemas import event_type as lookup

RESULTS = ROOT / "bench" / "results" / "publish.json"
TARGET_RATIO_VS_FASTAVRO = 0.7
TARGET_SIGNED_VS_UNSIGNED = 0.5


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
    load_before = os.getloadavg()

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

    publisher = Publisher(settings, source_system="bench", component="bench", topic_for=lambda _et: topic, signer=None)
    keys = {e.envelope.region_code for e in events}
    signer = BatchSigner({code: SigningKey(code, Ed25519PrivateKey.generate()) for code in keys})
    signed = Publisher(settings, source_system="bench", component="bench-signed", topic_for=lambda _et: topic,
                       signer=signer)
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

    def run_signed() -> None:
        signed.publish_many(events)
        signed.flush(60)

    # Warm up every path once (registry ids, connections, code paths).
    run_fastavro(), run_raw(), run_sdk(), run_signed()
    rounds: dict[str, list[float]] = {"fastavro": [], "raw_produce": [], "sdk": [], "sdk_signed": []}
    for _ in range(args.rounds):
        rounds["fastavro"].append(timed(run_fastavro))
        rounds["raw_produce"].append(timed(run_raw))
        rounds["sdk"].append(timed(run_sdk))
        rounds["sdk_signed"].append(timed(run_signed))
    if args.profile:
        import cProfile

        cProfile.runctx("run_sdk()", globals(), {"run_sdk": run_sdk}, str(args.profile))
    publisher.close()
    signed.close()

    n = args.events
    rates = {k: [n / t for t in v] for k, v in rounds.items()}
    best = {k: max(v) for k, v in rates.items()}
    median = {k: statistics.median(v) for k, v in rates.items()}
    vs_fastavro = round_ratios(rates["sdk"], rates["fastavro"])
    vs_raw = round_ratios(rates["sdk"], rates["raw_produce"])
    signed_vs_sdk = round_ratios(rates["sdk_signed"], rates["sdk"])
    headline = vs_fastavro["median"]
    target = verdict(f"SDK ≥ {TARGET_RATIO_VS_FASTAVRO}× fastavro (median of per-round ratios)", f"{headline:.3f}",
                     headline >= TARGET_RATIO_VS_FASTAVRO)
    signing_target = verdict(f"SDK signing ≥ {TARGET_SIGNED_VS_UNSIGNED}× SDK unsigned (median of per-round ratios)",
                             f"{signed_vs_sdk['median']:.3f}", signed_vs_sdk["median"] >= TARGET_SIGNED_VS_UNSIGNED)
    result = {
        "benchmark": "B1 publish",
        "events_per_s": round(best["sdk"]),
        "ratio_vs_fastavro_median": headline,
        "ratio_vs_raw_produce_median": vs_raw["median"],
        "ratio_vs_fastavro": round(best["sdk"] / best["fastavro"], 3),  # best round ÷ best round
        "ratio_vs_raw_produce": round(best["sdk"] / best["raw_produce"], 3),
        "target_ratio_vs_fastavro": TARGET_RATIO_VS_FASTAVRO,
        "target_met": target["met"],
        "targets": [target, signing_target],
        "signed_vs_unsigned_median": signed_vs_sdk["median"],
        "signed_vs_unsigned_best": round(best["sdk_signed"] / best["sdk"], 3),
        "fastavro_events_per_s": round(best["fastavro"]),
        "raw_produce_events_per_s": round(best["raw_produce"]),
        "median": {f"{k}_events_per_s": round(v) for k, v in median.items()},
        "rounds": {
            **{f"{k}_events_per_s": [round(x) for x in v] for k, v in rates.items()},
            "ratio_vs_fastavro": vs_fastavro["rounds"],
            "ratio_vs_raw_produce": vs_raw["rounds"],
            "signed_vs_unsigned": signed_vs_sdk["rounds"],
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
            "timing": "rounds interleaved (fastavro, raw_produce, sdk); headline: median of per-round ratios",
        },
        "machine": machine(load_before),
        "when": now_iso(),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")

    def ratio_line(label: str, per_round: dict[str, Any], best_ratio: float) -> str:
        rounds_text = " ".join(f"{x:.2f}" for x in per_round["rounds"])
        return (f"  {label:<21}median of per-round ratios {per_round['median']:.2f} (rounds {rounds_text}); "
                f"best rounds {best_ratio:.2f}")

    print("\n".join([
        f"B1 publish ({n:,} x {args.event_type}, {args.rounds} interleaved rounds):",
        f"  {'':<21}{'best':>12}{'median':>12}  events/s",
        f"  fastavro encode only {best['fastavro']:>12,.0f}{median['fastavro']:>12,.0f}",
        f"  raw produce          {best['raw_produce']:>12,.0f}{median['raw_produce']:>12,.0f}",
        f"  SDK publish          {best['sdk']:>12,.0f}{median['sdk']:>12,.0f}",
        f"  SDK publish, signed  {best['sdk_signed']:>12,.0f}{median['sdk_signed']:>12,.0f}",
        ratio_line("SDK / fastavro", vs_fastavro, result["ratio_vs_fastavro"]),
        ratio_line("SDK / raw produce", vs_raw, result["ratio_vs_raw_produce"]),
        ratio_line("signed / unsigned", signed_vs_sdk, result["signed_vs_unsigned_best"]),
        f"  model build (user)   {result['model_build_events_per_s']:>12,} events/s",
        f"  {target['line']}",
        f"  {signing_target['line']}",
        f"  load average {result['machine']['load_avg_before']} -> {result['machine']['load_avg_after']}",
        f"  -> {args.output}",
    ]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
