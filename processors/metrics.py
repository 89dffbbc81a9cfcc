"""Prometheus metrics of the processors (names per Prometheus conventions; bounded labels)."""

from prometheus_client import Counter, Gauge, Histogram

from processors.bulk_histogram import BulkHistogram

EVENTS_PROCESSED = Counter(
    "egov_processor_events_processed",
    "Events the processors handled, by processor, theme and outcome (ok, dlq, duplicate).",
    ["processor", "theme", "outcome"],
)
DLQ_EVENTS = Counter("egov_dlq_events", "Events sent to a dead-letter topic, by theme and stage.", ["theme", "stage"])
VERIFY_FAILURES = Counter("egov_processor_verify_failures", "Records whose proof of origin failed, by theme and reason "
                          "(unsigned, malformed, unknown_key, revoked_key, expired_key, foreign_key, bad_signature).",
                          ["theme", "reason"])
E2E_LATENCY = BulkHistogram(
    "egov_e2e_latency_seconds",
    "Seconds from an event's occurred_at or produced_at to its view update.",
    ["theme", "since"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 86400),
)
CONSUMER_LAG = Gauge(
    "egov_consumer_lag_records", "Records not yet consumed, by group and topic (NaN while it cannot be read).", ["group", "topic"]
)
LAG_READ_FAILURES = Counter(
    "egov_processor_lag_read_failures",
    "Reads of a worker's consumer lag that failed (its gauge is NaN until a read succeeds).",
    ["group"],
)
VIEW_UPDATES = Counter("egov_view_updates", "View rows published, by view.", ["view"])
REGIONS_PUBLISHING = Gauge(
    "egov_integration_regions_publishing",
    "Regions of the province that published on the theme within the silence threshold (this worker's partitions).",
    ["province", "theme"],
)
SILENT_REGIONS = Gauge(
    "egov_integration_silent_regions",
    "Regions of the province that published on the theme before but not within the silence threshold.",
    ["province", "theme"],
)
LATE_EVENTS = Counter(
    "egov_processor_late_events",
    "Events applied although produced longer ago than the de-duplication window (a forgotten earlier copy would be counted twice).",
    ["theme"],
)
RESTORED_RECORDS = Counter(
    "egov_processor_state_restored_records", "Changelog records a worker read to restore its local state."
)
COMMIT_SECONDS = Histogram(
    "egov_processor_commit_seconds",
    "Seconds one commit of a worker takes (views, changelog, offsets; the transaction under exactly-once).",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
DEDUPE_EXPIRED_IDS = Counter(
    "egov_processor_dedupe_expired_ids", "Event ids forgotten because their arrival hour left the de-duplication window."
)
