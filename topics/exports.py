"""Exports of the catalogue: AsyncAPI 3.0, Strimzi ``KafkaTopic`` resources, a Markdown catalogue.

All three are pure functions of the catalogue and the schemas (no cluster, no
registry), deterministic, so generated files can be checked for staleness.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import yaml

import schemas
from schemas.cloudevents import CONTENT_TYPE, SPECVERSION
from schemas.regions import provinces
from schemas.samples import sample_event
from topics.catalog import Catalog, TopicSpec

AVRO_SCHEMA_FORMAT = "application/vnd.apache.avro+json;version=1.9.0"
KAFKA_BINDING_VERSION = "0.5.0"
STRIMZI_API_VERSION = "kafka.strimzi.io/v1beta2"
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


def _config_value(value: str) -> Any:
    try:
        return int(value)
    except ValueError:
        try:
            return float(value)
        except ValueError:
            return value


def _topic_binding(spec: TopicSpec) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for key, value in sorted(spec.config.items()):
        config[key] = value.split(",") if key == "cleanup.policy" else _config_value(value)
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
        "required": ["ce_id", "ce_source", "ce_type", "ce_time", "ce_specversion", "content-type"],
        "properties": {
            "ce_id": {"type": "string", "format": "uuid", "description": "Equals envelope.event_id: the idempotency key."},
            "ce_source": {
                "type": "string",
                "pattern": r"^/id/go/\d{2}(\.\d{2})?/[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
                "description": "/id/go/<region_code>/<source_system>.",
            },
            "ce_type": {"type": "string", "description": "id.go.egov.<theme>.<EventName>.v1."},
            "ce_time": {"type": "string", "format": "date-time", "description": "envelope.occurred_at, RFC 3339 UTC."},
            "ce_specversion": {"type": "string", "const": SPECVERSION},
            "content-type": {"type": "string", "const": CONTENT_TYPE, "description": "Confluent wire-format Avro."},
            "traceparent": {"type": "string", "description": "W3C trace context: 00-<trace id>-<span id>-01."},
        },
    }


def _event_message(et: schemas.EventType) -> dict[str, Any]:
    headers = cloudevents_headers_schema()
    headers["properties"] = {**headers["properties"], "ce_type": {"type": "string", "const": et.ce_type}}
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
                "headers": {k: v.decode() for k, v in schemas.build_headers(example, et, trace_id="0af7651916cd43dd8448eb211c80319c")},
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
    if routed:
        first = routed[0]
        prefix = f"{catalog.prefix}." if catalog.prefix else ""
        address = prefix + "egov.province.{province_code}.events"
        cid = "egov.province.events"
        channels[cid] = {
            "address": address,
            "title": "egov.province.{province_code}.events",
            "description": f"Per-province feeds ({len(routed)} topics): every theme's events of one province and its kabupaten/kota.",
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


def _k8s_name(topic: str) -> str:
    # KafkaTopic names are DNS-1123 subdomains: lower case, digits, '-' and '.'
    return topic.lower().replace("_", "-")


def strimzi_topics(catalog: Catalog, cluster: str, namespace: str | None = None) -> list[dict[str, Any]]:
    """``KafkaTopic`` resources (``kafka.strimzi.io/v1beta2``) for every catalogue topic."""
    out = []
    for spec in catalog.topics:
        metadata: dict[str, Any] = {
            "name": _k8s_name(spec.name),
            "labels": {
                "strimzi.io/cluster": cluster,
                "app.kubernetes.io/part-of": "egov-bus",
                "egov.go.id/topic-kind": spec.kind,
            },
        }
        if namespace:
            metadata["namespace"] = namespace
        if spec.theme:
            metadata["labels"]["egov.go.id/theme"] = spec.theme
        out.append(
            {
                "apiVersion": STRIMZI_API_VERSION,
                "kind": "KafkaTopic",
                "metadata": metadata,
                "spec": {
                    "topicName": spec.name,
                    "partitions": spec.partitions,
                    "replicas": spec.replication_factor,
                    "config": {k: _config_value(v) for k, v in sorted(spec.config.items())},
                },
            }
        )
    return out


def strimzi_yaml(catalog: Catalog, cluster: str, namespace: str | None = None) -> str:
    """The resources of :func:`strimzi_topics` as a multi-document YAML stream."""
    header = f"# KafkaTopic resources of the egov-bus catalogue, generated by `egov-bus catalog strimzi --cluster {cluster}`.\n"
    return header + yaml.safe_dump_all(strimzi_topics(catalog, cluster, namespace), sort_keys=False, explicit_start=True)


# -- Markdown ---------------------------------------------------------------------------------


def _type(t: Any) -> str:
    if isinstance(t, str):
        return t.rsplit(".", 1)[-1] if t.startswith("id.go.egov.") else t
    if isinstance(t, list):
        members = [m for m in t if m != "null"]
        inner = " | ".join(_type(m) for m in members)
        return f"{inner} (optional)" if "null" in t else inner
    if isinstance(t, Mapping):
        logical = t.get("logicalType")
        if logical == "decimal":
            return f"decimal({t['precision']},{t['scale']})"
        if logical:
            return str(logical)
        if t.get("type") == "enum":
            return "enum " + "/".join(t["symbols"])
        if t.get("type") == "array":
            return f"array<{_type(t['items'])}>"
        if t.get("type") == "record":
            return str(t["name"])
        return _type(t.get("type"))
    return str(t)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _fields_table(fields: list[Mapping[str, Any]]) -> list[str]:
    lines = ["| field | type | default | description |", "|---|---|---|---|"]
    for f in fields:
        default = "" if "default" not in f else ("null" if f["default"] is None else json.dumps(f["default"]))
        lines.append(f"| `{f['name']}` | {_cell(_type(f['type']))} | {_cell(default)} | {_cell(f.get('doc', ''))} |")
    return lines


def markdown(catalog: Catalog) -> str:
    """A readable event catalogue (kept as ``docs/events.md``)."""
    envelope = schemas.event_type("BudgetAllocated").avro_schema["fields"][0]["type"]
    out = [
        "# egov-bus event catalogue",
        "",
        "<!-- GENERATED by `egov-bus catalog markdown` from schemas/avro and topics/catalog.yaml; do not edit.",
        "     tests/topics/test_exports.py fails when this file is stale. -->",
        "",
        f"{len(schemas.EVENT_TYPES)} event types in {len(schemas.THEMES)} themes. Every record is keyed by the region code, "
        "its value is Avro in the Confluent wire format (subject `<topic>-<record full name>`, BACKWARD compatible) and "
        "its headers follow the CloudEvents Kafka binding in binary mode (`ce_id`, `ce_source` `/id/go/<region_code>/<source_system>`, "
        "`ce_type` `id.go.egov.<theme>.<EventName>.v1`, `ce_time`, `ce_specversion` 1.0, `content-type` application/avro, `traceparent`).",
        "",
        "Money is `decimal(20,2)` rupiah, times are `timestamp-millis` UTC, people appear only as `nik_pseudonym` "
        "(keyed HMAC-SHA256). Region codes are checked against the current Kemendagri list (552 regional governments).",
        "",
        "## Envelope (`id.go.egov.common.Envelope`), first field of every event",
        "",
        *_fields_table(envelope["fields"]),
        "",
        "## Topics",
        "",
        "| topic | kind | partitions | replicas | cleanup | retention | carries |",
        "|---|---|---|---|---|---|---|",
    ]
    routed = catalog.of_kind("routed")
    for spec in catalog.of_kind("theme", "dlq", "view"):
        retention = spec.config.get("retention.ms", "-")
        days = f"{int(retention) // 86_400_000} d" if retention.isdigit() else retention
        carries = ", ".join(spec.event_types) if spec.kind != "view" else f"key `{spec.key}`"
        out.append(
            f"| `{spec.name}` | {spec.kind} | {spec.partitions} | {spec.replication_factor} | {spec.config.get('cleanup.policy', '')} | {days} | {_cell(carries)} |"
        )
    if routed:
        r = routed[0]
        out.append(
            f"| `egov.province.<code>.events` ({len(routed)} topics) | routed | {r.partitions} | {r.replication_factor} | "
            f"{r.config.get('cleanup.policy', '')} | {int(r.config['retention.ms']) // 86_400_000} d | every event type |"
        )
    out += [
        "",
        "Replication factor and `min.insync.replicas` (2) are production values; `egov-bus topics apply` clamps them to the broker count.",
        "",
    ]
    for theme in schemas.THEMES:
        events = schemas.events_of_theme(theme)
        topic = catalog.theme_topic(theme)
        out += [f"## {theme}", "", topic.doc, "", f"Topic `{topic.name}`, dead letters `{schemas.dlq_topic(theme)}`.", ""]
        for et in events:
            out += [
                f"### {et.name}",
                "",
                et.doc,
                "",
                f"- Avro record `{et.record_name}`, subject `{et.subject(topic.name)}`",
                f"- CloudEvents type `{et.ce_type}`",
                "",
                *_fields_table(et.avro_schema["fields"][1:]),
                "",
            ]
    out += ["## Central views", ""]
    for spec in catalog.of_kind("view"):
        out += [f"- `{spec.name}` (key `{spec.key}`): {spec.doc} Reads: {', '.join(spec.reads)}."]
    return "\n".join(out).rstrip() + "\n"
