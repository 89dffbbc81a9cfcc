"""The bundled Apicurio Registry's storage: KafkaSQL (its topics, KafkaUser, Kafka client env), PostgreSQL, H2 refused.

The env names and the ACLs were checked against a real secured broker (SASL_SSL,
SCRAM-SHA-512, the stack's CA as PEM) with Apicurio 3.3.3: it starts, registers,
and serves the same ids after a restart with exactly these ACLs; without
DescribeConfigs on its journal it never becomes ready.
"""

from __future__ import annotations

import json

import jsonschema
import pytest

from tests.fixtures.tools import run_tool
from tests.helm.chart import KUBE_VERSIONS, NO_SCHEMA_KINDS, documents, helm_template, kubeconform_cmd, of_kind, one, render, values_file
from tests.helm.test_strimzi_resources import SCHEMAS

pytestmark = pytest.mark.tools

BOOTSTRAP = "egov-kafka-bootstrap.kafka:9093"
TOPICS = ["egov-registry-journal", "egov-registry-snapshots", "egov-registry-events"]

#: Production on Strimzi: SASL_SSL with the cluster CA, the chart's topics and users.
KAFKASQL_SECURED = {
    "kafka": {"bootstrapServers": BOOTSTRAP, "securityProtocol": "SASL_SSL", "tls": {"existingSecret": "egov-cluster-ca-cert"}},
    "registry": {"url": "", "apicurio": {"enabled": True}},
    "strimzi": {"topics": {"enabled": True}, "users": {"enabled": True}},
}
POSTGRESQL = {
    "registry": {"url": "", "apicurio": {"enabled": True, "storage": {"kind": "sql", "sql": {
        "kind": "postgresql", "url": "jdbc:postgresql://registry-db:5432/registry", "username": "registry",
        "existingSecret": "registry-db"}}}},
    "strimzi": {"topics": {"enabled": True}, "users": {"enabled": True}},
}
H2 = {"registry": {"url": "", "apicurio": {"enabled": True, "storage": {"kind": "sql", "sql": {"kind": "h2"}}}}}
H2_MESSAGE = (
    "registry.apicurio.storage.sql.kind h2 keeps the schemas in the pod's memory: they would be lost on every "
    "restart, and the schema ids in the topics with them; use storage.kind kafkasql or sql.kind postgresql, "
    "or set registry.apicurio.storage.allowEphemeral=true for a trial"
)

#: The registry's env before any Kafka security setting (kafkasql, topics managed by the chart).
KAFKASQL_ENV = [
    {"name": "QUARKUS_HTTP_PORT", "value": "8080"},
    {"name": "QUARKUS_MANAGEMENT_PORT", "value": "9000"},
    {"name": "APICURIO_STORAGE_KIND", "value": "kafkasql"},
    {"name": "APICURIO_KAFKASQL_BOOTSTRAP_SERVERS", "value": BOOTSTRAP},
    {"name": "APICURIO_KAFKASQL_TOPIC", "value": "egov-registry-journal"},
    {"name": "APICURIO_KAFKASQL_SNAPSHOTS_TOPIC", "value": "egov-registry-snapshots"},
    {"name": "APICURIO_EVENTS_KAFKA_TOPIC", "value": "egov-registry-events"},
    {"name": "APICURIO_KAFKASQL_TOPIC_AUTO_CREATE", "value": "false"},
    {"name": "APICURIO_KAFKASQL_CONSUMER_GROUP_PREFIX", "value": "egov-registry-"},
    {"name": "APICURIO_KAFKASQL_PRODUCER_ACKS", "value": "all"},
    {"name": "APICURIO_KAFKASQL_PRODUCER_ENABLE_IDEMPOTENCE", "value": "true"},
]
SASL_SSL_ENV = [
    {"name": "APICURIO_KAFKA_COMMON_SECURITY_PROTOCOL", "value": "SASL_SSL"},
    {"name": "APICURIO_KAFKA_COMMON_SASL_MECHANISM", "value": "SCRAM-SHA-512"},
    {"name": "APICURIO_KAFKA_COMMON_SASL_JAAS_CONFIG",
     "valueFrom": {"secretKeyRef": {"name": "registry", "key": "sasl.jaas.config"}}},
    {"name": "APICURIO_KAFKA_COMMON_SSL_TRUSTSTORE_TYPE", "value": "PEM"},
    {"name": "APICURIO_KAFKA_COMMON_SSL_TRUSTSTORE_LOCATION", "value": "/etc/apicurio/kafka-ca/ca.crt"},
]


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _docs(helm_bin, tmp_path, values: dict) -> list[dict]:
    return render(helm_bin, "-f", values_file(tmp_path, values))


@pytest.fixture(scope="module")
def secured(helm_bin, tmp_path_factory) -> list[dict]:
    """KAFKASQL_SECURED rendered once for the tests that only read it."""
    return _docs(helm_bin, tmp_path_factory.mktemp("secured"), KAFKASQL_SECURED)


def _pod(docs: list[dict]) -> dict:
    return one(docs, "Deployment", "-registry")["spec"]["template"]["spec"]


def _env(docs: list[dict]) -> list[dict]:
    return _pod(docs)["containers"][0]["env"]


def _registry_topics(docs: list[dict]) -> list[dict]:
    return [t for t in of_kind(docs, "KafkaTopic") if t["metadata"]["labels"].get("app.kubernetes.io/component") == "registry"]


def _topic_specs(replicas: int, min_isr: int) -> list[dict]:
    return [
        {"topicName": name, "partitions": 1, "replicas": replicas,
         "config": {"cleanup.policy": "delete", "retention.ms": -1, "retention.bytes": -1, "min.insync.replicas": min_isr}}
        for name in TOPICS
    ]


# ------------------------------------------------------------------ KafkaSQL


def test_kafkasql_is_the_default_storage(helm_bin, tmp_path):
    docs = _docs(helm_bin, tmp_path, {"registry": {"url": "", "apicurio": {"enabled": True}}})
    env = _env(docs)
    # PLAINTEXT, no Strimzi resources: the registry creates its topics, no security settings.
    assert env == [*KAFKASQL_ENV[:2], *[
        {**e, "value": "egov-kafka-bootstrap:9092"} if e["name"] == "APICURIO_KAFKASQL_BOOTSTRAP_SERVERS"
        else {**e, "value": "true"} if e["name"] == "APICURIO_KAFKASQL_TOPIC_AUTO_CREATE" else e
        for e in KAFKASQL_ENV[2:]
    ]]
    assert not _registry_topics(docs) and not of_kind(docs, "KafkaUser")
    assert [v["name"] for v in _pod(docs)["volumes"]] == ["tmp"]


def test_kafkasql_secured_env_names_and_values(secured):
    docs = secured
    assert _env(docs) == KAFKASQL_ENV + SASL_SSL_ENV
    pod = _pod(docs)
    # The cluster CA as PEM, mounted where the truststore location points.
    assert {"name": "kafka-ca", "mountPath": "/etc/apicurio/kafka-ca", "readOnly": True} in pod["containers"][0]["volumeMounts"]
    assert {"name": "kafka-ca", "secret": {"secretName": "egov-cluster-ca-cert", "items": [{"key": "ca.crt", "path": "ca.crt"}]}} in pod["volumes"]


def test_kafkasql_topics_exact_spec(secured):
    topics = _registry_topics(secured)
    assert [t["metadata"]["name"] for t in topics] == TOPICS
    assert [t["spec"] for t in topics] == _topic_specs(replicas=3, min_isr=2)
    for topic in topics:
        assert topic["metadata"]["namespace"] == "egov-system"
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == "egov"


@pytest.mark.parametrize(("replicas", "min_isr"), [(1, 1), (2, 2), (5, 2)])
def test_kafkasql_topics_follow_the_charts_replication(helm_bin, tmp_path, replicas, min_isr):
    values = _merge(KAFKASQL_SECURED, {"strimzi": {"topics": {"replicas": replicas}}})
    assert [t["spec"] for t in _registry_topics(_docs(helm_bin, tmp_path, values))] == _topic_specs(replicas, min_isr)


def test_kafkasql_user_has_exactly_the_registrys_acls(secured):
    users = {u["metadata"]["name"]: u for u in of_kind(secured, "KafkaUser")}
    assert set(users) == {"gateway", "processors", "ministry-finance", "ministry-panrb", "registry"}
    registry = users["registry"]
    assert registry["metadata"]["labels"]["egov.go.id/principal-role"] == "registry"
    assert registry["spec"] == {
        "authentication": {"type": "scram-sha-512"},
        "authorization": {"type": "simple", "acls": [
            {"resource": {"type": "cluster"}, "operations": ["IdempotentWrite"], "host": "*"},
            {"resource": {"type": "topic", "name": "egov-registry-journal", "patternType": "literal"},
             "operations": ["Describe", "DescribeConfigs", "Read", "Write"], "host": "*"},
            {"resource": {"type": "topic", "name": "egov-registry-snapshots", "patternType": "literal"},
             "operations": ["Describe", "DescribeConfigs", "Read", "Write"], "host": "*"},
            {"resource": {"type": "topic", "name": "egov-registry-events", "patternType": "literal"},
             "operations": ["Describe", "DescribeConfigs", "Write"], "host": "*"},
            {"resource": {"type": "group", "name": "egov-registry-", "patternType": "prefix"},
             "operations": ["Read"], "host": "*"},
        ]},
    }


def test_kafkasql_strimzi_resources_use_only_known_fields(secured):
    docs = secured
    registry_docs = _registry_topics(docs) + [u for u in of_kind(docs, "KafkaUser") if u["metadata"]["name"] == "registry"]
    assert len(registry_docs) == 4
    for doc in registry_docs:
        errors = list(jsonschema.Draft202012Validator(SCHEMAS[doc["kind"]]).iter_errors(doc))
        assert not errors, f"{doc['kind']} {doc['metadata']['name']}: {[e.message for e in errors]}"


def test_kafkasql_renames_its_topics_and_group_prefix(helm_bin, tmp_path):
    kafkasql = {"topic": "reg.journal", "snapshotsTopic": "reg.snapshots", "eventsTopic": "reg.events", "groupPrefix": "reg-"}
    values = _merge(KAFKASQL_SECURED, {"registry": {"apicurio": {"storage": {"kafkasql": kafkasql}}}})
    docs = _docs(helm_bin, tmp_path, values)
    env = {e["name"]: e.get("value") for e in _env(docs)}
    assert [env["APICURIO_KAFKASQL_TOPIC"], env["APICURIO_KAFKASQL_SNAPSHOTS_TOPIC"], env["APICURIO_EVENTS_KAFKA_TOPIC"],
            env["APICURIO_KAFKASQL_CONSUMER_GROUP_PREFIX"]] == ["reg.journal", "reg.snapshots", "reg.events", "reg-"]
    assert [t["spec"]["topicName"] for t in _registry_topics(docs)] == ["reg.journal", "reg.snapshots", "reg.events"]
    acls = next(u for u in of_kind(docs, "KafkaUser") if u["metadata"]["name"] == "registry")["spec"]["authorization"]["acls"]
    assert [a["resource"].get("name") for a in acls] == [None, "reg.journal", "reg.snapshots", "reg.events", "reg-"]


def test_kafkasql_ssl_only_gets_the_ca_and_no_sasl(helm_bin, tmp_path):
    values = _merge(KAFKASQL_SECURED, {"kafka": {"securityProtocol": "SSL"}, "strimzi": {"users": {"enabled": False}}})
    env = _env(_docs(helm_bin, tmp_path, values))
    assert env == KAFKASQL_ENV + [SASL_SSL_ENV[0] | {"value": "SSL"}, *SASL_SSL_ENV[3:]]


def test_kafkasql_sasl_with_a_login_secret_of_ones_own(helm_bin, tmp_path):
    values = _merge(KAFKASQL_SECURED, {
        "strimzi": {"users": {"enabled": False}},
        "kafka": {"auth": {"username": "egov-bus", "existingSecret": "egov-kafka-login"}},
        "registry": {"apicurio": {"storage": {"kafkasql": {"auth": {"existingSecret": "registry-kafka", "jaasConfigKey": "jaas"}}}}},
    })
    docs = _docs(helm_bin, tmp_path, values)
    jaas = next(e for e in _env(docs) if e["name"] == "APICURIO_KAFKA_COMMON_SASL_JAAS_CONFIG")
    assert jaas["valueFrom"] == {"secretKeyRef": {"name": "registry-kafka", "key": "jaas"}}
    assert not of_kind(docs, "KafkaUser")


def test_kafkasql_sasl_without_a_login_is_refused(helm_bin, tmp_path):
    values = _merge(KAFKASQL_SECURED, {"strimzi": {"users": {"enabled": False}},
                                       "kafka": {"auth": {"username": "egov-bus", "existingSecret": "egov-kafka-login"}}})
    result = helm_template(helm_bin, "-f", values_file(tmp_path, values))
    assert result.returncode != 0
    assert ("a SASL login for the registry (kafka.securityProtocol SASL_SSL): set registry.apicurio.storage.kafkasql.auth."
            "existingSecret, or enable strimzi.users (and strimzi.users.components) for its KafkaUser registry") in result.stderr


def test_probes_use_the_management_port(secured):
    container = _pod(secured)["containers"][0]
    assert container["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"},
                                  {"name": "management", "containerPort": 9000, "protocol": "TCP"}]
    probes = {kind: container[kind]["httpGet"] for kind in ("startupProbe", "livenessProbe", "readinessProbe")}
    assert probes == {"startupProbe": {"path": "/health/started", "port": "management"},
                      "livenessProbe": {"path": "/health/live", "port": "management"},
                      "readinessProbe": {"path": "/health/ready", "port": "management"}}


# ------------------------------------------------------------------ SQL


def test_postgresql_env_and_no_kafka_resources(helm_bin, tmp_path):
    docs = _docs(helm_bin, tmp_path, POSTGRESQL)
    assert _env(docs) == [
        {"name": "QUARKUS_HTTP_PORT", "value": "8080"},
        {"name": "QUARKUS_MANAGEMENT_PORT", "value": "9000"},
        {"name": "APICURIO_STORAGE_KIND", "value": "sql"},
        {"name": "APICURIO_STORAGE_SQL_KIND", "value": "postgresql"},
        {"name": "APICURIO_DATASOURCE_URL", "value": "jdbc:postgresql://registry-db:5432/registry"},
        {"name": "APICURIO_DATASOURCE_USERNAME", "value": "registry"},
        {"name": "APICURIO_DATASOURCE_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "registry-db", "key": "password"}}},
    ]
    assert not _registry_topics(docs)
    assert "registry" not in {u["metadata"]["name"] for u in of_kind(docs, "KafkaUser")}


def test_h2_is_refused_because_schemas_would_be_lost(helm_bin, tmp_path):
    result = helm_template(helm_bin, "-f", values_file(tmp_path, H2))
    assert result.returncode != 0
    assert H2_MESSAGE in result.stderr, result.explain()


def test_h2_renders_when_ephemeral_storage_is_allowed(helm_bin, tmp_path):
    docs = _docs(helm_bin, tmp_path, _merge(H2, {"registry": {"apicurio": {"storage": {"allowEphemeral": True}}}}))
    env = {e["name"]: e["value"] for e in _env(docs)}
    assert env == {"QUARKUS_HTTP_PORT": "8080", "QUARKUS_MANAGEMENT_PORT": "9000",
                   "APICURIO_STORAGE_KIND": "sql", "APICURIO_STORAGE_SQL_KIND": "h2"}


# ------------------------------------------------------------------ schemas


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize("variant", ["kafkasql-secured", "postgresql"])
def test_kubeconform_strict(helm_bin, kubeconform_bin, k8s_schema_location, crd_schema_location, tmp_path,
                            variant, kube_version):
    values = {"kafkasql-secured": KAFKASQL_SECURED, "postgresql": POSTGRESQL}[variant]
    result = helm_template(helm_bin, "-f", values_file(tmp_path, values))
    assert result.returncode == 0, result.explain()
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(result.stdout)
    check = run_tool(kubeconform_cmd(kubeconform_bin, k8s_schema_location, crd_schema_location, kube_version,
                                     "-summary", "-output", "json", manifest))
    assert check.returncode == 0, check.explain()
    summary = json.loads(check.stdout)["summary"]
    docs = documents(result.stdout)
    assert summary["invalid"] == 0 and summary["errors"] == 0
    assert summary["skipped"] == sum(1 for d in docs if d["kind"] in NO_SCHEMA_KINDS)
    assert summary["valid"] == len(docs) - summary["skipped"]


@pytest.mark.parametrize(("values", "path"), [
    ({"storage": {"kind": "postgresql"}}, "/registry/apicurio/storage/kind"),
    ({"storage": {"allowEphemeral": "yes"}}, "/registry/apicurio/storage/allowEphemeral"),
    ({"storage": {"kafkasql": {"topic": "journal with spaces"}}}, "/registry/apicurio/storage/kafkasql/topic"),
    ({"storage": {"kafkasql": {"groupPrefix": ""}}}, "/registry/apicurio/storage/kafkasql/groupPrefix"),
    ({"managementPort": 0}, "/registry/apicurio/managementPort"),
], ids=["kind", "allowEphemeral", "topic", "groupPrefix", "managementPort"])
def test_bad_storage_values_are_refused_by_the_schema(helm_bin, tmp_path, values, path):
    result = helm_template(helm_bin, "-f", values_file(tmp_path, {"registry": {"apicurio": {"enabled": True, **values}}}))
    assert result.returncode != 0
    assert "values don't meet the specifications of the schema" in result.stderr and path in result.stderr, result.explain()
