"""Where the worker's time goes: the batch handler's synchronous part, in-process, under cProfile.

Pre-loads N simulated events on a fresh prefix, fetches them into memory with
a plain consumer, then runs what ``processors/app.py``'s batch handler runs
between fetch and produce — ``Pipeline.process_batch``, ``view_records`` for
the changed keys and ``TableState.take_changelog`` — over batches shaped like
the worker's (records grouped per topic partition, ``--batch`` records per
batch). Nothing is produced: the difference between this rate and B2's worker
rate is what Faust, aiokafka and the produce/commit path cost.

    .venv/bin/python bench/profile_pipeline.py [--events 50000] [--batch 5000] [--top 25] [--output FILE.prof]
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
from typing import Any, NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import encode_events, new_prefix, produce_all, provision  # noqa: E402
from bus.serde import make_registry_client  # noqa: E402
from bus.settings import load_settings  # noqa: E402


class TP(NamedTuple):
    topic: str
    partition: int


class Record(NamedTuple):
    """The attributes of an aiokafka ``ConsumerRecord`` the pipeline reads."""

    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]
    offset: int


def fetch(settings: Any, topics: list[str], partitions: int, n: int) -> list[tuple[TP, Record]]:
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    consumer = Consumer(settings.librdkafka_config(**{"group.id": f"bench-prof-{uuid.uuid4().hex[:8]}",
                                                      "enable.auto.commit": False}))
    consumer.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t in topics for p in range(partitions)])
    out = []
    deadline = time.monotonic() + 120
    while len(out) < n and time.monotonic() < deadline:
        for m in consumer.consume(10_000, 0.5):
            if not m.error():
                out.append((TP(m.topic(), m.partition()), Record(m.key(), m.value(), m.headers() or [], m.offset())))
    consumer.close()
    return out


def batches(records: list[tuple[TP, Record]], size: int) -> list[list[tuple[TP, list[Record]]]]:
    out = []
    for start in range(0, len(records), size):
        grouped: dict[TP, list[Record]] = defaultdict(list)
        for tp, r in records[start:start + size]:
            grouped[tp].append(r)
        out.append(list(grouped.items()))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args(argv)

    from confluent_kafka.admin import AdminClient

    from processors.pipeline import Pipeline
    from processors.routing import Router, load_rules
    from processors.state import TableState
    from processors.transform import current_region_code
    from topics.catalog import load_catalog

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

    registry = make_registry_client(settings)
    catalog = load_catalog(prefix=prefix)
    theme_of_topic = {t.name: t.theme for t in catalog.of_kind("theme")}
    rules = [type(r)(**{**r.__dict__, "destination": f"{prefix}.{r.destination}"}) for r in load_rules(None)]
    pipeline = Pipeline(registry, Router(rules, region_of_key=current_region_code), theme_of_topic,
                        view_topic_name=lambda v: f"{prefix}.egov.view.{v}")
    pipeline.warm()
    work = batches(records, args.batch)

    def run(state: TableState) -> int:
        out = 0
        for batch in work:
            result = pipeline.process_batch(batch, state)
            for partition in set(result.outgoing) | set(result.changed) | state.dirty_partitions():
                out += len(result.outgoing.get(partition, ()))
                out += len(pipeline.view_records(result.changed.get(partition, set()), state.data))
                out += len(state.take_changelog(partition))
            pipeline.observe(result, time.time())
        return out

    run(TableState({}, {}))  # warm code paths and caches (enrichment, serializers)
    t0 = time.perf_counter()
    produced = run(TableState({}, {}))
    elapsed = time.perf_counter() - t0
    profiler = cProfile.Profile()
    profiler.enable()
    run(TableState({}, {}))
    profiler.disable()
    print(f"handler (sync part), {len(records):,} events in batches of {args.batch:,}: "
          f"{len(records) / elapsed:,.0f} events/s without profiler; {produced:,} records to produce")
    stats = pstats.Stats(profiler)
    if args.output:
        stats.dump_stats(str(args.output))
    stats.sort_stats("tottime").print_stats(args.top)
    stats.sort_stats("cumulative").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
