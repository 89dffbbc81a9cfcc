"""The processors' Faust application: only wiring lives here.

Faust is the application framework (worker, lifecycle, signals, logging,
timers, the CLI); the data path is :class:`~processors.stream.StreamLoop` on
confluent-kafka, run by :mod:`processors.service`. Faust's own Kafka
transport is switched off (:class:`NoKafkaBoot`): no aiokafka consumer or
producer runs in a worker.
"""

from __future__ import annotations

import logging

import faust
from faust.app.base import BootStrategy

from bus.serde import make_registry_client
from bus.settings import EgovSettings
from processors.exceptions import TopologyError
from processors.pipeline import Pipeline
from processors.routing import Router, load_rules
from processors.service import stream_service
from processors.stream import StreamLoop
from processors.transform import current_region_code
from bus.keys import load_signing_key
from schemas.topic_names import audit_topic, keys_topic, view_topic
from topics.catalog import load_catalog

log = logging.getLogger("egov.processors")

GAUGE_INTERVAL_S = 10.0


class NoKafkaBoot(BootStrategy):
    """Faust's boot strategy without its Kafka services (the stream loop has its own clients)."""

    enable_kafka = False
    enable_web = False


class ProcessorApp(faust.App):
    BootStrategy = NoKafkaBoot


def build_app(settings: EgovSettings, *, topic_prefix: str | None = None, rules_path: str | None = None) -> faust.App:
    """The processors' Faust app for ``settings`` (optionally on prefixed test topics)."""
    catalog = load_catalog(prefix=topic_prefix)
    theme_topics = catalog.of_kind("theme")
    theme_of_topic = {t.name: t.theme for t in theme_topics}
    partitions = {t.partitions for t in theme_topics}
    if len(partitions) != 1:
        # One task holds a region's state of every theme only when the range assignor co-partitions them.
        raise TopologyError(f"theme topics must share one partition count, got {sorted(partitions)}",
                            partitions=sorted(partitions))

    app = ProcessorApp(
        settings.processor_app_id,
        broker=f"kafka://{settings.bootstrap_servers}",
        web_enabled=False,
        datadir=settings.processor_data_dir,
    )
    rules = load_rules(rules_path, prefix=topic_prefix)
    pipeline = Pipeline(
        make_registry_client(settings),
        Router(rules, region_of_key=current_region_code),
        theme_of_topic,
        view_topic_name=lambda v: view_topic(v, topic_prefix),
        dedupe_window_s=settings.dedupe_window.total_seconds(),
    )
    if settings.centre_signing_key_file:
        pipeline.centre_key = load_signing_key(settings.centre_signing_key_file)
    keys = keys_topic(topic_prefix) if settings.verify_signatures else None
    if keys is None:
        log.warning("EGOV_VERIFY_SIGNATURES is off: records are counted without checking who signed them")
    audit = audit_topic(topic_prefix) if settings.audit_log else None
    if audit is None:
        log.warning("EGOV_AUDIT_LOG is off: nothing records what the centre accepted")
    stream = StreamLoop(settings, pipeline, list(theme_of_topic), partitions.pop(), keys_topic=keys, audit_topic=audit)
    app.service(stream_service(app, stream))

    @app.timer(interval=GAUGE_INTERVAL_S)
    async def report_gauges() -> None:
        from processors.health import publish_integration_gauges

        store = stream.store
        if store is not None and stream.ready.is_set():
            publish_integration_gauges(stream.gauge_rows())

    app.egov_stream = stream  # type: ignore[attr-defined]
    return app
