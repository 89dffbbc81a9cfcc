"""The AsyncAPI 3.0 document of the catalogue: a channel per topic, a message per event type."""

from __future__ import annotations

import json
from typing import Any

import schemas
from schemas.cloudevents import (
    CONTENT_TYPE,
    HEADER_CONTENT_TYPE,
    HEADER_ID,
    HEADER_SOURCE,
    HEADER_SPECVERSION,
    HEADER_TIME,
    HEADER_TRACEPARENT,
    HEADER_TYPE,
    REQUIRED,
    SOURCE_PATTERN,
    SPECVERSION,
)
from schemas.regions import provinces
from schemas.samples import sample_event
from schemas.topic_names import PROVINCE_FEED_TEMPLATE, parse_topic, prefixed
from topics.catalog import Catalog, TopicSpec
from topics.exports.common import config_value

AVRO_SCHEMA_FORMAT = "application/vnd.apache.avro+json;version=1.9.0"
KAFKA_BINDING_VERSION = "0.5.0"
# A whole traceparent (the W3C example's ids), not a bare trace id: with a bare one
# build_headers draws a random span id, and the document would differ on every run.
EXAMPLE_TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
DLQ_HEADERS = {
    "error.class": "Class of the error that sent the record here (e.g. SchemaValidationError).",
    "error.message": "Human-readable reason, naming field path and rule where there is one.",
    "error.stage": "Where it failed: decode, validate, route, transform, aggregate.",
    "original.topic": "Topic the record was read from.",
    "original.partition": "Partition it was read from.",
    "original.offset": "Offset it had there.",
}
REGION_KEY = {
    "type": "string",
    "description": "Kemendagri code of the publishing regional government: province (\"32\") or kabupaten/kota (\"32.01\").",
    "pattern": r"^\d{2}(\.\d{2})?$",
    "examples": ["32", "32.01"],
}


def _topic_binding(spec: TopicSpec) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for key, value in sorted(spec.config.items()):
        config[key] = value.split(",") if key == "cleanup.policy" else config_value(value)
    return {
        "kafka": {
            "partitions": spec.partitions,
            "replicas": spec.replication_factor,
            "topicConfiguration": config,
            "bindingVersion": KAFKA_BINDING_VERSION,
        }
    }


def cloudevents_headers_schema() -> dict[str, Any]:
    """JSON Schema of the CloudEvents binary-mode headers every event record carries."""
    return {
        "type": "object",
        "description": "CloudEvents 1.0 Kafka protocol binding, binary mode (see schemas.cloudevents).",
        "required": list(REQUIRED),
        "properties": {
            HEADER_ID: {"type": "string", "format": "uuid", "description": "Equals envelope.event_id: the idempotency key."},
            HEADER_SOURCE: {
                "type": "string",
                "pattern": f"^{SOURCE_PATTERN}$",
                "description": "/id/go/<region_code>/<source_system>.",
            },
            HEADER_TYPE: {"type": "string", "description": "id.go.egov.<theme>.<EventName>.v1."},
            HEADER_TIME: {"type": "string", "format": "date-time", "description": "envelope.occurred_at, RFC 3339 UTC."},
            HEADER_SPECVERSION: {"type": "string", "const": SPECVERSION},
            HEADER_CONTENT_TYPE: {"type": "string", "const": CONTENT_TYPE, "description": "Confluent wire-format Avro."},
            HEADER_TRACEPARENT: {"type": "string", "description": "W3C trace context: 00-<trace id>-<span id>-01."},
        },
    }


def _event_message(et: schemas.EventType) -> dict[str, Any]:
    headers = cloudevents_headers_schema()
    headers["properties"] = {**headers["properties"], HEADER_TYPE: {"type": "string", "const": et.ce_type}}
    example = sample_event(et.name)
    return {
        "name": et.name,
        "title": et.name,
        "summary": et.doc,
        "contentType": CONTENT_TYPE,
        "headers": headers,
        "payload": {"schemaFormat": AVRO_SCHEMA_FORMAT, "schema": et.avro_schema},
        "correlationId": {"description": "The event id, also the idempotency key.", "location": "$message.header#/ce_id"},
        "bindings": {
            "kafka": {
                "key": REGION_KEY,
                "schemaIdLocation": "payload",
                "schemaIdPayloadEncoding": "confluent",
                "schemaLookupStrategy": "TopicRecordNameStrategy",
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
        "examples": [
            {
                "name": f"{et.name}Example",
                "headers": {k: v.decode() for k, v in schemas.build_headers(example, et, trace_id=EXAMPLE_TRACEPARENT)},
                "payload": json.loads(example.model_dump_json()),
            }
        ],
    }


def _dead_letter_message() -> dict[str, Any]:
    headers = {
        "type": "object",
        "required": list(DLQ_HEADERS),
        "properties": {k: {"type": "string", "description": d} for k, d in DLQ_HEADERS.items()},
        "additionalProperties": {"description": "The original record's headers (CloudEvents and others), kept as they were."},
    }
    return {
        "name": "DeadLetter",
        "title": "Dead letter",
        "summary": "A record that could not be processed: the original bytes, plus headers that say why.",
        "contentType": "application/octet-stream",
        "headers": headers,
        "payload": {"type": "string", "format": "binary", "description": "The original record value, byte for byte."},
        "bindings": {"kafka": {"key": REGION_KEY, "bindingVersion": KAFKA_BINDING_VERSION}},
    }


def _view_message(spec: TopicSpec, message_id: str) -> dict[str, Any]:
    return {
        "name": message_id,
        "title": spec.base_name,
        "summary": spec.doc,
        "description": f"One record per key {spec.key} (compacted; a tombstone deletes). Reads: {', '.join(spec.reads)}.",
        "payload": {"type": "object", "description": "View record written by the central processors."},
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": f"View key {spec.key}."},
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }


def _channel_id(name: str) -> str:
    return name.replace("{", "").replace("}", "")


def asyncapi(catalog: Catalog, *, title: str = "egov-bus events", version: str = "1.0.0") -> dict[str, Any]:
    """The AsyncAPI 3.0 document of the catalogue: a channel per topic, a message per event type."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {et.name: _event_message(et) for et in schemas.EVENT_TYPES.values()}
    messages["DeadLetter"] = _dead_letter_message()

    for spec in catalog.of_kind("theme", "dlq", "view"):
        cid = _channel_id(spec.name)
        if spec.kind == "theme":
            refs = {n: {"$ref": f"#/components/messages/{n}"} for n in spec.event_types}
        elif spec.kind == "dlq":
            refs = {"DeadLetter": {"$ref": "#/components/messages/DeadLetter"}}
        else:
            mid = "View" + "".join(p.capitalize() for p in spec.base_name.rsplit(".", 1)[-1].split("_"))
            messages[mid] = _view_message(spec, mid)
            refs = {mid: {"$ref": f"#/components/messages/{mid}"}}
        channels[cid] = {
            "address": spec.name,
            "title": spec.base_name,
            "description": spec.doc + (f" Carries the original records of: {', '.join(spec.event_types)}." if spec.kind == "dlq" else ""),
            "messages": refs,
            "bindings": _topic_binding(spec),
        }
        if spec.kind == "theme":
            operations[f"publish.{spec.theme}"] = {
                "action": "send",
                "title": f"A region publishes {spec.theme} events",
                "channel": {"$ref": f"#/channels/{cid}"},
                "messages": [{"$ref": f"#/channels/{cid}/messages/{n}"} for n in spec.event_types],
            }
            operations[f"consume.{spec.theme}"] = {
                "action": "receive",
                "title": f"A central service consumes {spec.theme} events",
                "channel": {"$ref": f"#/channels/{cid}"},
                "messages": [{"$ref": f"#/channels/{cid}/messages/{n}"} for n in spec.event_types],
            }

    routed = catalog.of_kind("routed")
    province_feeds = [r for r in routed if (name := parse_topic(r.name)) is not None and name.kind == "province"]
    for spec in routed:
        if spec in province_feeds:
            continue
        # A ministry's feed: one topic carrying the events of some themes.
        cid = _channel_id(spec.name)
        channels[cid] = {
            "address": spec.name,
            "title": spec.base_name,
            "description": spec.doc,
            "messages": {n: {"$ref": f"#/components/messages/{n}"} for n in spec.event_types},
            "bindings": _topic_binding(spec),
        }
    if province_feeds:
        first = province_feeds[0]
        cid = "egov.province.events"
        channels[cid] = {
            "address": prefixed(PROVINCE_FEED_TEMPLATE, catalog.prefix),
            "title": PROVINCE_FEED_TEMPLATE,
            "description": (f"Per-province feeds ({len(province_feeds)} topics): every theme's events of one province "
                            "and its kabupaten/kota."),
            "parameters": {
                "province_code": {
                    "description": "Kemendagri province code.",
                    "enum": [p.code for p in provinces()],
                }
            },
            "messages": {n: {"$ref": f"#/components/messages/{n}"} for n in first.event_types},
            "bindings": {"kafka": {k: v for k, v in _topic_binding(first)["kafka"].items() if k != "topic"}},
        }

    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": title,
            "version": version,
            "description": (
                "Domain events of Indonesia's regional e-government systems, one topic per theme. "
                "Values are Avro in the Confluent wire format (schema id in the payload, TopicRecordNameStrategy "
                "subjects <topic>-<record full name>); keys are region codes; headers follow the CloudEvents "
                "Kafka binding in binary mode."
            ),
            "license": {"name": "Apache-2.0", "url": "https://www.apache.org/licenses/LICENSE-2.0"},
        },
        "defaultContentType": CONTENT_TYPE,
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }
