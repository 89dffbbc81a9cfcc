"""The metric names egov-bus exposes, and a small PromQL name extractor for the deploy checks.

``METRICS`` is the contract between the components (which expose these
series) and the dashboard and alert rules (which query them). Label sets are
bounded: province at most, never kabupaten/kota or event_id.
"""

from __future__ import annotations

import re

#: name -> (type, labels)
METRICS: dict[str, tuple[str, frozenset[str]]] = {
    "egov_gateway_events_accepted_total": ("counter", frozenset({"theme"})),
    "egov_gateway_events_rejected_total": ("counter", frozenset({"theme", "reason"})),
    "egov_gateway_requests_in_flight": ("gauge", frozenset()),
    "egov_publisher_events_published_total": ("counter", frozenset({"theme", "outcome"})),
    "egov_spool_depth_events": ("gauge", frozenset()),
    "egov_spool_oldest_age_seconds": ("gauge", frozenset()),
    "egov_spool_limit_events": ("gauge", frozenset()),
    "egov_outbox_rows_relayed_total": ("counter", frozenset({"outcome"})),
    "egov_processor_events_processed_total": ("counter", frozenset({"processor", "theme", "outcome"})),
    "egov_dlq_events_total": ("counter", frozenset({"theme", "stage"})),
    "egov_processor_verify_failures_total": ("counter", frozenset({"theme", "reason"})),
    "egov_e2e_latency_seconds": ("histogram", frozenset({"theme", "since"})),
    "egov_consumer_lag_records": ("gauge", frozenset({"group", "topic"})),
    "egov_processor_lag_read_failures_total": ("counter", frozenset({"group"})),
    "egov_registry_errors_total": ("counter", frozenset({"operation"})),
    "egov_integration_regions_publishing": ("gauge", frozenset({"province", "theme"})),
    "egov_integration_silent_regions": ("gauge", frozenset({"province", "theme"})),
    "egov_view_updates_total": ("counter", frozenset({"view"})),
    "egov_subscriber_records_total": ("counter", frozenset({"theme", "outcome"})),
    "egov_processor_late_events_total": ("counter", frozenset({"theme"})),
    "egov_processor_state_restored_records_total": ("counter", frozenset()),
    "egov_processor_commit_seconds": ("histogram", frozenset()),
    "egov_processor_dedupe_expired_ids_total": ("counter", frozenset()),
}

#: Labels Prometheus adds at scrape time, and the histogram bucket label.
TARGET_LABELS = frozenset({"job", "instance"})

_HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")

_KEYWORDS = frozenset(
    {
        "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset",
        "and", "or", "unless", "atan2", "inf", "nan",
        # aggregation operators may be written with their grouping first: `sum by (x) (...)`
        "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
        "bottomk", "topk", "quantile", "limitk", "limit_ratio",
    }
)
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_RANGE = re.compile(r"\[[^\]]*\]")
_IDENT = re.compile(r"(?<![\w:.$])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?")


def series_names(expr: str) -> set[str]:
    """Metric (and recording rule) names an expression selects.

    Strips strings, label matchers, grouping clauses and ranges, then keeps
    identifiers that are not functions (followed by ``(``) or keywords.
    """
    text = _STRING.sub('""', expr)
    text = _MATCHERS.sub("", text)
    text = _GROUPING.sub("", text)
    text = _RANGE.sub("", text)
    names = set()
    for match in _IDENT.finditer(text):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in _KEYWORDS:
            continue
        names.add(name)
    return names


def base_metric(name: str) -> str | None:
    """The exposed metric a series name belongs to (``x_bucket`` -> ``x`` for histograms), or None."""
    if name in METRICS:
        return name
    for suffix in _HISTOGRAM_SUFFIXES:
        if name.endswith(suffix):
            base = name[: -len(suffix)]
            if METRICS.get(base, ("",))[0] == "histogram":
                return base
    return None


def label_names(expr: str) -> set[str]:
    """Label names used in matchers and grouping clauses of an expression."""
    text = _STRING.sub('""', expr)
    labels: set[str] = set()
    for block in _MATCHERS.findall(text):
        labels |= set(re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)", block))
    for clause in _GROUPING.finditer(text):
        inner = clause.group(0)[clause.group(0).index("(") + 1 : -1]
        labels |= {part.strip() for part in inner.split(",") if part.strip()}
    return labels
