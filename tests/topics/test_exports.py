"""Exports: AsyncAPI 3.0 (validated against the official JSON Schema), Strimzi KafkaTopics, docs/events.md."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

import schemas
from schemas.topic_names import parse_topic
from topics.catalog import load_catalog
from topics.exports import AVRO_SCHEMA_FORMAT, asyncapi, markdown, strimzi_topics
from topics.exports_cli import app

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(json.loads((DATA / "asyncapi-3.0.0.schema.json").read_text()))


@pytest.fixture(scope="module")
def doc() -> dict:
    # through JSON, as a consumer of the file would see it
    return json.loads(json.dumps(asyncapi(load_catalog())))


def _errors(validator, doc) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in validator.iter_errors(doc)]


def test_asyncapi_document_is_valid(validator, doc):
    assert _errors(validator, doc) == []
    assert doc["asyncapi"] == "3.0.0"


def test_each_ministry_feed_is_a_channel_with_its_themes_events(doc):
    finance = doc["channels"]["egov.ministry.finance.events"]
    assert finance["address"] == "egov.ministry.finance.events"
    assert set(finance["messages"]) == {n for n, et in schemas.EVENT_TYPES.items()
                                        if et.theme in {"budgeting", "treasury", "revenue"}}
    assert "(38 topics)" in doc["channels"]["egov.province.events"]["description"]


def test_fifteen_theme_channels_and_every_event_type(doc):
    theme_channels = {cid: c for cid, c in doc["channels"].items()
                      if (name := parse_topic(c["address"])) is not None and name.kind == "theme"}
    assert sorted(c["address"] for c in theme_channels.values()) == sorted(f"egov.{t}.events" for t in schemas.THEMES)
    carried = {name for c in theme_channels.values() for name in c["messages"]}
    assert carried == set(schemas.EVENT_TYPES)
    messages = doc["components"]["messages"]
    for et in schemas.EVENT_TYPES.values():
        m = messages[et.name]
        assert m["payload"] == {"schemaFormat": AVRO_SCHEMA_FORMAT, "schema": json.loads(json.dumps(et.avro_schema))}
        assert m["headers"]["properties"]["ce_type"]["const"] == et.ce_type
        assert set(m["headers"]["required"]) == {"ce_id", "ce_source", "ce_type", "ce_time", "ce_specversion", "content-type"}
        assert m["bindings"]["kafka"]["key"]["pattern"] == r"^\d{2}(\.\d{2})?$"
        assert m["bindings"]["kafka"]["schemaLookupStrategy"] == "TopicRecordNameStrategy"
        assert doc["channels"][et.topic]["messages"][et.name] == {"$ref": f"#/components/messages/{et.name}"}


def test_dlq_view_and_routed_channels(doc):
    addresses = {c["address"] for c in doc["channels"].values()}
    assert {f"egov.{t}.dlq" for t in schemas.THEMES} <= addresses
    assert {"egov.view.integration_index", "egov.view.budget_absorption", "egov.view.complaint_service_level", "egov.view.licensing_throughput"} <= addresses
    routed = doc["channels"]["egov.province.events"]
    assert routed["address"] == "egov.province.{province_code}.events"
    assert len(routed["parameters"]["province_code"]["enum"]) == 38
    view = doc["channels"]["egov.view.budget_absorption"]["bindings"]["kafka"]
    assert view["topicConfiguration"]["cleanup.policy"] == ["compact"]


def test_validator_catches_broken_documents(validator, doc):
    broken = copy.deepcopy(doc)
    broken["components"]["messages"]["BudgetAllocated"]["payload"]["schema"]["type"] = "recordz"
    assert _errors(validator, broken)
    broken = copy.deepcopy(doc)
    del broken["info"]["version"]
    assert any("'version' is a required property" in e for e in _errors(validator, broken))
    broken = copy.deepcopy(doc)
    broken["channels"]["egov.planning.events"]["bindings"]["kafka"]["partitions"] = 0
    assert _errors(validator, broken)


def test_asyncapi_document_is_deterministic():
    # the examples' traceparent is fixed, so a generated file can be checked for staleness
    first, second = asyncapi(load_catalog()), asyncapi(load_catalog())
    assert first == second
    headers = first["components"]["messages"]["BudgetAllocated"]["examples"][0]["headers"]
    assert headers["traceparent"] == "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def test_asyncapi_cli_writes_yaml_and_json(tmp_path, validator):
    out = tmp_path / "asyncapi.yaml"
    result = runner.invoke(app, ["asyncapi", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert _errors(validator, json.loads(json.dumps(yaml.safe_load(out.read_text())))) == []
    result = runner.invoke(app, ["asyncapi", "--format", "json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["asyncapi"] == "3.0.0"


def test_strimzi_kafka_topics():
    resources = strimzi_topics(load_catalog(), "egov-kafka", namespace="egov")
    assert len(resources) == len(load_catalog().topics) == 76
    by_topic = {r["spec"]["topicName"]: r for r in resources}
    theme = by_topic["egov.budgeting.events"]
    assert theme["apiVersion"] == "kafka.strimzi.io/v1beta2" and theme["kind"] == "KafkaTopic"
    assert theme["metadata"]["labels"]["strimzi.io/cluster"] == "egov-kafka"
    assert theme["metadata"]["namespace"] == "egov"
    assert theme["spec"]["partitions"] == 12 and theme["spec"]["replicas"] == 3
    assert theme["spec"]["config"]["min.insync.replicas"] == 2
    assert theme["spec"]["config"]["cleanup.policy"] == "delete"
    view = by_topic["egov.view.complaint_service_level"]
    assert view["metadata"]["name"] == "egov.view.complaint-service-level"  # DNS-1123: no '_'
    for r in resources:
        assert re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", r["metadata"]["name"]) and len(r["metadata"]["name"]) <= 253
    assert len({r["metadata"]["name"] for r in resources}) == 76


def test_strimzi_cli(tmp_path):
    out = tmp_path / "topics.yaml"
    result = runner.invoke(app, ["strimzi", "--cluster", "prod", "-o", str(out)])
    assert result.exit_code == 0, result.output
    docs = [d for d in yaml.safe_load_all(out.read_text()) if d]
    assert len(docs) == 76 and {d["metadata"]["labels"]["strimzi.io/cluster"] for d in docs} == {"prod"}


def test_docs_events_md_is_current():
    current = (REPO / "docs" / "events.md").read_text(encoding="utf-8")
    assert current == markdown(load_catalog()), "docs/events.md is stale: run `egov-bus catalog markdown`"


def test_markdown_lists_every_event_and_field():
    text = markdown(load_catalog())
    for et in schemas.EVENT_TYPES.values():
        assert f"### {et.name}\n" in text
        for f in et.avro_schema["fields"][1:]:
            assert f"| `{f['name']}` |" in text
    assert "| `amount` | decimal(20,2) |" in text
