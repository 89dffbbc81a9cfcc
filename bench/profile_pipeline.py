"""Where the worker's time goes: the stream loop's own work, in-process, under cProfile.

Pre-loads N simulated events on a fresh prefix, fetches them into memory with
a plain consumer (confluent-kafka ``Message``s, as the worker gets them), then
runs what ``processors/stream.py`` runs between fetch and produce, with a real
RocksDB state store in a temporary directory: ``Pipeline.process`` per topic
partition of each poll (``--batch`` records), and at each simulated commit
(every ``--commit-every`` polls) ``view_records`` for the changed keys, the
changelog records and the RocksDB write. Nothing is produced: the difference
between this rate and B2's worker rate is what librdkafka's produce,
transactions and the consume loop cost.

The pipeline is the worker's own, wired by :func:`processors.app.build_app`
(the same rules, region-code mapping, view topics and de-duplication window).

    .venv/bin/python -m bench.profile_pipeline [--events 50000] [--batch 2000] [--top 25] [--output FILE.prof]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.common import encode_events, new_prefix, produce_all, provision
from bus.settings import load_settings


def fetch(settings: Any, topics: list[str], partitions: int, n: int) -> list[Any]:
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    consumer = Consumer(settings.librdkafka_config(**{"group.id": f"bench-prof-{uuid.uuid4().hex[:8]}",
                                                      "enable.auto.commit": False}))
    consumer.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t in topics for p in range(partitions)])
    out = []
    deadline = time.monotonic() + 120
    while len(out) < n and time.monotonic() < deadline:
        for m in consumer.consume(10_000, 0.5):
            if not m.error():
                out.append(m)
    consumer.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=2_000)
    parser.add_argument("--commit-every", type=int, default=1, help="polls per commit interval")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args(argv)

    from confluent_kafka.admin import AdminClient
    from rocksdict import WriteBatch

    from processors.app import build_app
    from processors.state import StateStore

    settings = load_settings(spool_dir=tempfile.mkdtemp(prefix="egov-bench-spool-"))
    admin = AdminClient(settings.librdkafka_config())
    prefix = new_prefix("prof")
    topics = provision(admin, prefix)
    events, publisher = encode_events(settings, prefix, 7, args.events)
    publisher.close()
    produce_all(settings, events)
    n = len(events)
    del events
    records = fetch(settings, topics, 12, n)

    # The worker's own wiring; the app is only built, never started (its data dir stays unused).
    settings = settings.model_copy(update={"processor_data_dir": tempfile.mkdtemp(prefix="egov-bench-unused-")})
    pipeline = build_app(settings, topic_prefix=prefix).egov_stream.pipeline
    pipeline.warm()
    polls = [records[i:i + args.batch] for i in range(0, len(records), args.batch)]

    def run() -> int:
        store = StateStore(tempfile.mkdtemp(prefix="egov-bench-state-"))
        out = 0
        changed: dict[int, set] = defaultdict(set)
        for i, poll in enumerate(polls):
            by_task: dict[tuple[str, int], list[Any]] = defaultdict(list)
            for m in poll:
                by_task[(m.topic(), m.partition())].append(m)
            now = time.time()
            for (topic, partition), msgs in by_task.items():
                result = pipeline.process(topic, partition, msgs, store.task(partition), now)
                out += len(result.outgoing)
                changed[partition] |= result.changed
                pipeline.observe(result, now)
            if (i + 1) % args.commit_every == 0 or i == len(polls) - 1:
                batch = WriteBatch(raw_mode=True)
                for partition, keys in changed.items():
                    task = store.task(partition)
                    out += len(pipeline.view_records(keys, task))
                    changelog = task.changelog_records(now)
                    out += len(changelog)
                    task.stage_local(batch, changelog, None)
                store.write(batch)
                changed.clear()
        store.close()
        return out

    run()  # warm code paths and caches (enrichment, serializers)
    t0 = time.perf_counter()
    produced = run()
    elapsed = time.perf_counter() - t0
    profiler = cProfile.Profile()
    profiler.enable()
    run()
    profiler.disable()
    print(f"stream loop work (no Kafka), {len(records):,} events, polls of {args.batch:,}: "
          f"{len(records) / elapsed:,.0f} events/s without profiler; {produced:,} records to produce")
    stats = pstats.Stats(profiler)
    if args.output:
        stats.dump_stats(str(args.output))
    stats.sort_stats("tottime").print_stats(args.top)
    stats.sort_stats("cumulative").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
