"""The Faust application: wires the pipeline to Kafka. Only wiring lives here.

One agent (concurrency 1, because it writes tables) reads every theme topic in
batches (``take_events``), runs each event through :class:`Pipeline`, produces
what the pipeline asks for (dead letters, routed copies, re-keyed legacy
events, view rows) and lets Faust commit. Tables: ``views`` (aggregate state)
and ``seen`` (event ids, the idempotency set), both changelogged, so a
restarted worker recovers them and a re-delivered event changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any

import faust
from faust.streams import _current_event

from bus.serde import SerdeError, make_registry_client
from bus.settings import EgovSettings
from processors.pipeline import Pipeline
from processors.routing import load_rules
from topics.catalog import load_catalog

log = logging.getLogger("egov.processors")

BATCH_MAX = 1000
BATCH_WITHIN_S = 0.1
REFRESH_INTERVAL_S = 2.0


def build_app(settings: EgovSettings, *, topic_prefix: str | None = None, rules_path: str | None = None) -> faust.App:
    """The processors' Faust app for ``settings`` (optionally on prefixed test topics)."""
    catalog = load_catalog(prefix=topic_prefix)
    theme_topics = catalog.of_kind("theme")
    theme_of_topic = {t.name: t.theme for t in theme_topics}
    partitions = {t.partitions for t in theme_topics}
    if len(partitions) != 1:
        raise ValueError(f"theme topics must share one partition count for the tables, got {sorted(partitions)}")
    prefix = f"{topic_prefix}." if topic_prefix else ""

    app = faust.App(
        settings.processor_app_id,
        broker=f"kafka://{settings.bootstrap_servers}",
        store="memory://",
        processing_guarantee=settings.processing_guarantee,
        topic_replication_factor=settings.topic_replication_factor or 1,
        topic_partitions=(table_partitions := partitions.pop()),
        table_cleanup_interval=3600,
        web_enabled=False,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        broker_commit_every=1000,
        broker_commit_interval=0.5,
        datadir=settings.processor_data_dir,
    )
    registry = make_registry_client(settings)
    pipeline = Pipeline(
        registry, load_rules(rules_path), theme_of_topic, view_topic_name=lambda v: f"{prefix}egov.view.{v}"
    )
    if topic_prefix:
        pipeline.rules = [
            type(r)(**{**r.__dict__, "destination": f"{prefix}{r.destination}"}) for r in pipeline.rules
        ]
    source = app.topic(*theme_of_topic, key_serializer="raw", value_serializer="raw")
    # JSON values (Faust's default serializer); partitions as the source topics, as Faust requires.
    views = app.Table("views", default=None, partitions=table_partitions, key_type=str)
    seen = app.Table("seen", default=None, partitions=table_partitions, key_type=str)
    out_topics: dict[str, Any] = {}

    def out(name: str) -> Any:
        topic = out_topics.get(name)
        if topic is None:
            topic = out_topics[name] = app.topic(name, key_serializer="raw", value_serializer="raw")
        return topic

    @app.task
    async def warm_schemas() -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, pipeline.warm)
        log.info("schema cache warm: %d writer schemas", len(pipeline.deserializer.known_schema_ids()))

    @app.timer(interval=10.0)
    async def report_gauges() -> None:
        from processors.health import publish_consumer_lag, publish_integration_gauges

        publish_integration_gauges(list(views.items()))
        await publish_consumer_lag(app.consumer, settings.processor_app_id)

    refresh = {"pending": False}

    @app.on_partitions_assigned.connect
    async def _on_assigned(sender: Any, assigned: Any, **kwargs: Any) -> None:
        refresh["pending"] = True

    @app.timer(interval=REFRESH_INTERVAL_S)
    async def refresh_views() -> None:
        # View records are not part of Faust's per-partition transactions, so a
        # worker that stops can leave a key's last view record behind its table
        # state. Re-publishing this worker's rows once its tables are recovered
        # after each rebalance makes the view topics converge to the exact,
        # changelogged table state.
        if not refresh["pending"] or app.in_recovery or not app.tables.recovery.completed.is_set():
            return
        refresh["pending"] = False
        keys = {tuple(key.split("|", 1)) for key, state in list(views.items()) if state is not None}
        for record in pipeline.view_records(keys, views):
            await out(record.topic).send(key=record.key, value=record.value)

    @app.agent(source, concurrency=1)
    async def process(stream: Any) -> None:
        loop = asyncio.get_running_loop()
        async for events in stream.take_events(BATCH_MAX, within=BATCH_WITHIN_S):
            changed: set[tuple[str, str]] = set()
            results = []
            for event in events:
                msg = event.message
                # Table writes need the event in context (take_events does not set it).
                _current_event.set(weakref.ref(event))
                missing = pipeline.needs_schema(msg.value)
                if missing is not None:
                    try:
                        await loop.run_in_executor(None, pipeline.deserializer.warm, [missing])
                    except SerdeError:
                        pass  # unknown id or registry down: the pipeline dead-letters the record
                try:
                    result = pipeline.process(
                        msg.topic, msg.partition, msg.offset, msg.key, msg.value, msg.headers, views, seen
                    )
                except Exception as exc:  # never crash the worker on one event
                    from processors.pipeline import Result

                    result = Result(theme=pipeline.theme_of_topic.get(msg.topic, "unknown"))
                    pipeline._dead_letter(result, msg.topic, msg.partition, msg.offset, msg.key, msg.value, msg.headers, "process", exc)
                for record in result.outgoing:
                    await out(record.topic).send(key=record.key, value=record.value, headers=record.headers)
                changed |= result.changed
                results.append(result)
            if changed:
                _current_event.set(weakref.ref(events[-1]))
                for record in pipeline.view_records(changed, views):
                    await out(record.topic).send(key=record.key, value=record.value)
            for result in results:
                pipeline.observe(result)

    app.egov_pipeline = pipeline  # type: ignore[attr-defined]
    return app
