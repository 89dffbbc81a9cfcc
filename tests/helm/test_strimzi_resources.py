"""Strimzi KafkaTopic and KafkaUser resources the chart renders, checked field by field.

kubeconform has no schema for Strimzi's CRDs here (Strimzi publishes them only in
its release archives), so these tests hold the rendered resources to the
kafka.strimzi.io/v1beta2 fields the chart uses, as Strimzi's API reference
defines them, with unknown fields refused.
"""

from __future__ import annotations

import copy

import jsonschema
import pytest

from tests.helm.chart import ALTERNATIVE, ALL_ON, documents, helm_template, values_file

pytestmark = pytest.mark.tools

_NAME = {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", "maxLength": 253}
_METADATA = {
    "type": "object",
    "required": ["name", "labels"],
    "properties": {
        "name": _NAME,
        "namespace": {"type": "string"},
        "labels": {
            "type": "object",
            "required": ["strimzi.io/cluster"],
            "additionalProperties": {"type": "string"},
        },
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    },
    "additionalProperties": False,
}

KAFKA_TOPIC = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "kafka.strimzi.io/v1beta2"},
        "kind": {"const": "KafkaTopic"},
        "metadata": _METADATA,
        "spec": {
            "type": "object",
            "required": ["partitions", "replicas"],
            "properties": {
                "topicName": {"type": "string", "pattern": r"^[a-zA-Z0-9._-]{1,249}$"},
                "partitions": {"type": "integer", "minimum": 1},
                "replicas": {"type": "integer", "minimum": 1, "maximum": 32767},
                "config": {"type": "object", "additionalProperties": {"type": ["string", "integer", "number", "boolean"]}},
            },
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}

_ACL = {
    "type": "object",
    "required": ["resource", "operations"],
    "properties": {
        "resource": {
            "type": "object",
            "required": ["type"],
            "properties": {
                "type": {"enum": ["topic", "group", "cluster", "transactionalId"]},
                "name": {"type": "string", "minLength": 1},
                "patternType": {"enum": ["literal", "prefix"]},
            },
            "additionalProperties": False,
        },
        "type": {"enum": ["allow", "deny"]},
        "host": {"type": "string"},
        "operations": {
            "type": "array",
            "minItems": 1,
            "uniqueItems": True,
            "items": {
                "enum": [
                    "Read", "Write", "Create", "Delete", "Alter", "Describe", "ClusterAction",
                    "AlterConfigs", "DescribeConfigs", "IdempotentWrite", "All",
                ]
            },
        },
    },
    "additionalProperties": False,
}

KAFKA_USER = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "kafka.strimzi.io/v1beta2"},
        "kind": {"const": "KafkaUser"},
        "metadata": _METADATA,
        "spec": {
            "type": "object",
            "required": ["authentication"],
            "properties": {
                "authentication": {
                    "type": "object",
                    "required": ["type"],
                    "properties": {"type": {"enum": ["tls", "tls-external", "scram-sha-512"]}},
                    "additionalProperties": False,
                },
                "authorization": {
                    "type": "object",
                    "required": ["type", "acls"],
                    "properties": {"type": {"const": "simple"}, "acls": {"type": "array", "items": _ACL}},
                    "additionalProperties": False,
                },
                "quotas": {
                    "type": "object",
                    "properties": {
                        "producerByteRate": {"type": "integer", "minimum": 0},
                        "consumerByteRate": {"type": "integer", "minimum": 0},
                        "requestPercentage": {"type": "integer", "minimum": 0, "maximum": 100},
                        "controllerMutationRate": {"type": "number", "minimum": 0},
                    },
                    "additionalProperties": False,
                },
            },
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}

SCHEMAS = {"KafkaTopic": KAFKA_TOPIC, "KafkaUser": KAFKA_USER}


@pytest.fixture(scope="module")
def strimzi_docs(helm_bin, tmp_path_factory) -> list[dict]:
    tmp = tmp_path_factory.mktemp("strimzi")
    docs = []
    for name, values in (("all-on", ALL_ON), ("alternative", ALTERNATIVE)):
        result = helm_template(helm_bin, "-f", values_file(tmp, values, name))
        assert result.returncode == 0, result.explain()
        docs += [d for d in documents(result.stdout) if d["apiVersion"].startswith("kafka.strimzi.io/")]
    return docs


def _errors(doc: dict) -> list[str]:
    validator = jsonschema.Draft202012Validator(SCHEMAS[doc["kind"]])
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]


def test_rendered_strimzi_resources_use_only_known_fields(strimzi_docs):
    kinds = {d["kind"] for d in strimzi_docs}
    assert kinds == {"KafkaTopic", "KafkaUser"}
    for doc in strimzi_docs:
        assert not _errors(doc), f"{doc['kind']} {doc['metadata']['name']}: {_errors(doc)}"


def test_the_field_check_refuses_typos(strimzi_docs):
    user = copy.deepcopy(next(d for d in strimzi_docs if d["kind"] == "KafkaUser"))
    user["spec"]["authorization"]["acls"][0]["operations"] = ["Writ"]
    user["spec"]["authentication"]["type"] = "scram-sha-256"
    topic = copy.deepcopy(next(d for d in strimzi_docs if d["kind"] == "KafkaTopic"))
    topic["spec"]["replication"] = 3
    assert any("'Writ' is not one of" in e for e in _errors(user))
    assert any("'scram-sha-256' is not one of" in e for e in _errors(user))
    assert any("'replication' was unexpected" in e for e in _errors(topic))
