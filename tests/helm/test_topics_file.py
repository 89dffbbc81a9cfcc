"""helm/egov-bus/files/topics.yaml is the topic catalogue, exactly.

Run with ``EGOV_UPDATE_CHART_TOPICS=1`` to rewrite the file from the catalogue
(from ``topics.exports.strimzi_topics`` once it exists) instead of failing.
"""

from __future__ import annotations

import importlib

import pytest
import yaml

from tests.helm.chart import TOPICS_FILE, catalogue_kafkatopics, update_requested, write_topics_file


def _file_docs() -> list[dict]:
    return [d for d in yaml.safe_load_all(TOPICS_FILE.read_text()) if d]


def _by_topic(docs: list[dict]) -> dict[str, dict]:
    out = {}
    for doc in docs:
        name = doc["spec"].get("topicName") or doc["metadata"]["name"]
        assert name not in out, f"topic {name} appears twice"
        out[name] = doc
    return out


def _comparable(doc: dict, labels: bool) -> dict:
    """What must agree: resource name, partitions, replicas, config (values as strings) and maybe labels."""
    spec = doc["spec"]
    return {
        "name": doc["metadata"]["name"],
        "labels": {k: v for k, v in doc["metadata"].get("labels", {}).items() if k != "strimzi.io/cluster"}
        if labels
        else None,
        "partitions": spec["partitions"],
        "replicas": spec["replicas"],
        "config": {k: str(v) for k, v in (spec.get("config") or {}).items()},
    }


def _diff(expected: dict[str, dict], actual: dict[str, dict], labels: bool) -> str:
    lines = [f"missing from {TOPICS_FILE.name}: {t}" for t in sorted(expected.keys() - actual.keys())]
    lines += [f"not in the catalogue: {t}" for t in sorted(actual.keys() - expected.keys())]
    for topic in sorted(expected.keys() & actual.keys()):
        want, got = _comparable(expected[topic], labels), _comparable(actual[topic], labels)
        if want != got:
            lines.append(f"{topic}: catalogue {want} != file {got}")
    return "\n".join(lines)


def test_topics_file_matches_the_catalogue():
    expected = _by_topic(catalogue_kafkatopics())
    if update_requested() and _exporter() is None:
        write_topics_file(catalogue_kafkatopics())
    problems = _diff(expected, _by_topic(_file_docs()), labels=False)
    assert not problems, (
        f"{TOPICS_FILE} is out of date with topics/catalog.yaml; regenerate it with\n"
        f"  EGOV_UPDATE_CHART_TOPICS=1 pytest tests/helm/test_topics_file.py\n{problems}"
    )
    for doc in _file_docs():
        assert doc["apiVersion"] == "kafka.strimzi.io/v1beta2" and doc["kind"] == "KafkaTopic"


def _exporter():
    """``topics.exports.strimzi_topics`` (issue 3), or None while it does not exist."""
    try:
        return importlib.import_module("topics.exports").strimzi_topics
    except (ImportError, AttributeError):
        return None


def test_topics_file_equals_the_strimzi_export():
    strimzi_topics = _exporter()
    if strimzi_topics is None:
        pytest.skip(
            "topics.exports.strimzi_topics is not importable yet; issue 3's exporter will provide it."
            " Until then test_topics_file_matches_the_catalogue checks the file against topics/catalog.yaml"
        )
    from topics.catalog import load_catalog

    docs = strimzi_topics(load_catalog(), cluster="egov")
    if update_requested():
        write_topics_file(docs)
    problems = _diff(_by_topic(docs), _by_topic(_file_docs()), labels=True)
    assert not problems, (
        f"{TOPICS_FILE} differs from `egov-bus catalog strimzi`; regenerate it with\n"
        f"  EGOV_UPDATE_CHART_TOPICS=1 pytest tests/helm/test_topics_file.py\n{problems}"
    )
