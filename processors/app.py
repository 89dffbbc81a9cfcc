"""The processors' Faust application: wires the batch pipeline to Kafka. Only wiring lives here.

Every theme topic is consumed in batches (:mod:`processors.engine`); each
batch runs through :class:`~processors.pipeline.Pipeline` against the
``state`` table (aggregates and seen-set, changelogged), then the worker
produces, per source partition: dead letters, routed copies, re-keyed legacy
events, the changed view rows and the table's changelog records.

With ``processing_guarantee=exactly_once`` all of that goes through the
partition's transactional producer, in the transaction that also commits the
batch's offsets: a crash loses nothing and doubles nothing. With
``at_least_once`` the outputs are delivered first, then the changelog, then
the offsets are committed; a crash re-reads a batch whose events may already
be in the seen-set, so views stay exact either way.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from bus.serde import SerdeError, make_registry_client
from bus.settings import EgovSettings
from processors.engine import BatchApp, librdkafka_partitioner
from processors.pipeline import BatchResult, Outgoing, Pipeline
from processors.routing import Router, load_rules
from processors.state import TableState
from processors.transform import current_region_code
from topics.catalog import load_catalog

log = logging.getLogger("egov.processors")

GAUGE_INTERVAL_S = 10.0
# How long a dead worker keeps its partitions: short, so that a killed worker's
# partitions move on quickly (the faust default is 60 s).
SESSION_TIMEOUT_S = 15.0
# Records per batch (one transaction per source partition each): large enough to
# amortise the per-batch cost, small enough that view rows follow within
# milliseconds and a crash re-does little. Faust's default is unlimited.
MAX_BATCH_RECORDS = 5_000


class Outputs:
    """Produces a batch's records per source partition, transactionally when exactly-once."""

    def __init__(self, app: Any, changelog_topic: str, source_topic: str) -> None:
        self.app = app
        self.eos = app.conf.processing_guarantee.value == "exactly_once"
        self.changelog_topic = changelog_topic
        self.source_topic = source_topic

    async def send(self, per_partition: dict[int, tuple[list[Outgoing], list[tuple[bytes, bytes]]]]) -> None:
        producer = self.app.producer
        futures = []
        if self.eos:
            group = self.app.assignor.group_for_topic(self.source_topic)
            for partition, (records, changelog) in per_partition.items():
                tid = f"{self.app.conf.id}-{group}-{partition}"
                txn = producer._transaction_producers.get(tid)
                if txn is None:
                    raise RuntimeError(f"no transactional producer {tid} for partition {partition}")
                # One lock hold: these records and the changelog share one transaction.
                async with producer._trn_locks[tid]:
                    for r in records:
                        futures.append(await txn.send(r.topic, r.value, key=r.key, headers=r.headers or None))
                    for key, value in changelog:
                        futures.append(await txn.send(self.changelog_topic, value, key=key, partition=partition))
            await asyncio.gather(*futures)
            return
        plain = producer._ensure_producer()
        for records, _ in per_partition.values():
            for r in records:
                futures.append(await plain.send(r.topic, r.value, key=r.key, headers=r.headers or None))
        # Outputs delivered before the state that says their events were handled.
        await asyncio.gather(*futures)
        futures = []
        for partition, (_, changelog) in per_partition.items():
            for key, value in changelog:
                futures.append(await plain.send(self.changelog_topic, value, key=key, partition=partition))
        await asyncio.gather(*futures)


def build_app(settings: EgovSettings, *, topic_prefix: str | None = None, rules_path: str | None = None) -> BatchApp:
    """The processors' Faust app for ``settings`` (optionally on prefixed test topics)."""
    catalog = load_catalog(prefix=topic_prefix)
    theme_topics = catalog.of_kind("theme")
    theme_of_topic = {t.name: t.theme for t in theme_topics}
    partitions = {t.partitions for t in theme_topics}
    if len(partitions) != 1:
        raise ValueError(f"theme topics must share one partition count for the tables, got {sorted(partitions)}")
    table_partitions = partitions.pop()
    prefix = f"{topic_prefix}." if topic_prefix else ""

    app = BatchApp(
        settings.processor_app_id,
        broker=f"kafka://{settings.bootstrap_servers}",
        store="memory://",
        processing_guarantee=settings.processing_guarantee,
        topic_replication_factor=settings.topic_replication_factor or 1,
        topic_partitions=table_partitions,
        # No standbys: a partition that moves is recovered from its compacted changelog.
        table_standby_replicas=0,
        table_cleanup_interval=3600,
        web_enabled=False,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        producer_partitioner=librdkafka_partitioner,
        producer_linger_ms=5,
        broker_commit_every=20_000,
        broker_commit_interval=0.1,
        broker_session_timeout=SESSION_TIMEOUT_S,
        broker_heartbeat_interval=1.0,
        consumer_max_fetch_size=1024 * 1024,
        broker_max_poll_records=MAX_BATCH_RECORDS,
        datadir=settings.processor_data_dir,
    )
    registry = make_registry_client(settings)
    rules = load_rules(rules_path)
    if topic_prefix:
        rules = [type(r)(**{**r.__dict__, "destination": f"{prefix}{r.destination}"}) for r in rules]
    pipeline = Pipeline(
        registry,
        Router(rules, region_of_key=current_region_code),
        theme_of_topic,
        view_topic_name=lambda v: f"{prefix}egov.view.{v}",
    )
    source = app.topic(*theme_of_topic, key_serializer="raw", value_serializer="raw")
    # Aggregates and the seen-set; JSON keys and values; partitioned like the theme topics.
    table = app.Table("state", default=None, partitions=table_partitions, key_type=str)
    state_box: dict[str, TableState] = {}

    def state() -> TableState:
        current = state_box.get("state")
        if current is None:
            current = state_box["state"] = TableState.of_table(table)
        return current

    outputs_box: dict[str, Outputs] = {}

    async def handle(batch: list[tuple[Any, Any]]) -> None:
        loop = asyncio.get_running_loop()
        missing = pipeline.missing_schemas(batch)
        if missing:
            try:
                # Unknown writer schemas are fetched off the event loop; what the registry
                # does not know is dead-lettered by the pipeline.
                await loop.run_in_executor(None, pipeline.deserializer.warm, sorted(missing))
            except SerdeError:
                pass
        st = state()
        outputs = outputs_box.get("o")
        if outputs is None:
            outputs = outputs_box["o"] = Outputs(app, table.changelog_topic.get_topic_name(), next(iter(theme_of_topic)))
        try:
            result: BatchResult = pipeline.process_batch(batch, st)
            per_partition = {}
            for partition in set(result.outgoing) | set(result.changed) | st.dirty_partitions():
                records = list(result.outgoing.get(partition, ()))
                records += pipeline.view_records(result.changed.get(partition, set()), st.data)
                per_partition[partition] = (records, st.take_changelog(partition))
            await outputs.send(per_partition)
        except Exception as exc:
            # Not one bad event (those are dead letters) but the broker or a bug: the
            # worker stops; a restart resumes from the last commit and the changelog.
            log.exception("batch failed; stopping the worker")
            st.discard_pending()
            await app.crash(exc)
            raise
        pipeline.observe(result, time.time())

    app.subscribe_batches(source, handle)

    @app.task
    async def warm_schemas() -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, pipeline.warm)
        log.info("schema cache warm: %d writer schemas", len(pipeline.deserializer.known_schema_ids()))

    @app.on_partitions_assigned.connect
    async def _on_assigned(sender: Any, assigned: Any, **kwargs: Any) -> None:
        state().invalidate()

    @app.timer(interval=GAUGE_INTERVAL_S)
    async def report_gauges() -> None:
        from processors.health import publish_consumer_lag, publish_integration_gauges

        publish_integration_gauges(state().view_items())
        await publish_consumer_lag(app.consumer, settings.processor_app_id)

    app.egov_pipeline = pipeline  # type: ignore[attr-defined]
    app.egov_table = table  # type: ignore[attr-defined]
    return app
