"""`egov-bus topics apply|list` against the real broker."""

from __future__ import annotations

import pytest
from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource
from typer.testing import CliRunner

from topics.catalog import load_catalog
from topics.cli import app
from topics.provision import Drift, _await, _configs_are, _visible, apply, plan

pytestmark = pytest.mark.integration
runner = CliRunner()


@pytest.fixture(autouse=True)
def _wide_console(monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")  # rich wraps long topic names otherwise


def _alter(admin, topic: str, **configs: str) -> None:
    res = ConfigResource(
        ConfigResource.Type.TOPIC,
        topic,
        incremental_configs=[ConfigEntry(k.replace("_", "."), v, incremental_operation=AlterConfigOpType.SET) for k, v in configs.items()],
    )
    for fut in admin.incremental_alter_configs([res]).values():
        fut.result(timeout=15)
    wanted = {k.replace("_", "."): v for k, v in configs.items()}
    _await(lambda: _configs_are(admin, topic, wanted, 10), 15, f"configs of {topic}")


def test_apply_twice_second_run_reports_no_change(admin, catalog_prefix):
    first = runner.invoke(app, ["apply", "--prefix", catalog_prefix])
    assert first.exit_code == 0, first.output
    assert "created 76, 0 unchanged" in first.output
    assert "replication factor 3 -> 1 (1 broker)" in first.output
    assert "min.insync.replicas 2 -> 1" in first.output
    cluster = admin.list_topics(timeout=10).topics
    for spec in load_catalog(prefix=catalog_prefix).topics:
        assert len(cluster[spec.name].partitions) == spec.partitions

    second = runner.invoke(app, ["apply", "--prefix", catalog_prefix])
    assert second.exit_code == 0, second.output
    assert "no change: all 76 topics match the catalogue" in second.output
    assert "created" not in second.output

    listing = runner.invoke(app, ["list", "--prefix", catalog_prefix])
    assert listing.exit_code == 0, listing.output
    assert f"{catalog_prefix}.egov.budgeting.events" in listing.output
    assert "missing" not in listing.output and "drift" not in listing.output


def test_drift_is_reported_then_fixed_with_the_flag(admin, catalog_prefix):
    catalog = load_catalog(prefix=catalog_prefix).select(["view", "dlq"])
    assert apply(admin, catalog).created  # fresh topics
    view = catalog.topic("egov.view.budget_absorption").name
    dlq = catalog.topic("egov.budgeting.dlq").name
    _alter(admin, view, cleanup_policy="delete")
    _alter(admin, dlq, retention_ms="1000")
    from confluent_kafka.admin import NewPartitions

    for fut in admin.create_partitions([NewPartitions(dlq, 5)]).values():
        fut.result(timeout=15)
    _await(lambda: _visible(admin, {dlq: 5}, 10), 15, "new partitions")

    report = apply(admin, catalog)  # no fix: report only
    assert not report.changed and not report.clean
    assert report.drift == [
        Drift(dlq, "partitions", "partitions", "3", "5", fixable=False),
        Drift(dlq, "config", "retention.ms", "7776000000", "1000", fixable=True),
        Drift(view, "config", "cleanup.policy", "compact", "delete", fixable=True),
    ]
    still = {str(d) for d in plan(admin, catalog).drift}
    assert f"{view}: cleanup.policy is delete, catalogue says compact" in still

    fixed = apply(admin, catalog, fix=True)
    assert {(d.topic, d.key) for d in fixed.fixed} == {(dlq, "retention.ms"), (view, "cleanup.policy")}
    assert fixed.drift == [Drift(dlq, "partitions", "partitions", "3", "5", fixable=False)]  # never shrinks

    after = plan(admin, catalog)
    assert [str(d) for d in after.drift] == [f"{dlq}: partitions is 5, catalogue says 3 (cannot be fixed online)"]


def test_cli_exit_codes_on_drift_and_missing_partitions_fixed(admin, catalog_prefix, tmp_path):
    import yaml

    from topics.catalog import CATALOG_FILE

    data = yaml.safe_load(CATALOG_FILE.read_text())
    data.pop("routed")
    data["topics"] = [t for t in data["topics"] if t["kind"] == "view"] + [t for t in data["topics"] if t["kind"] != "view"]
    path = tmp_path / "cat.yaml"
    path.write_text(yaml.safe_dump(data))
    assert runner.invoke(app, ["apply", "--catalog", str(path), "--prefix", catalog_prefix]).exit_code == 0

    # the catalogue now wants more partitions and a longer retention on one view
    data["topics"][0].update(partitions=8, config={"delete.retention.ms": "172800000"})
    path.write_text(yaml.safe_dump(data))
    name = f"{catalog_prefix}.{data['topics'][0]['name']}"
    report_only = runner.invoke(app, ["apply", "--catalog", str(path), "--prefix", catalog_prefix])
    assert report_only.exit_code == 2, report_only.output
    assert f"drift {name}: partitions is 6, catalogue says 8" in report_only.output
    assert f"drift {name}: delete.retention.ms is 86400000, catalogue says 172800000" in report_only.output
    assert "run with --fix to fix 2 of them" in report_only.output

    fixed = runner.invoke(app, ["apply", "--fix", "--catalog", str(path), "--prefix", catalog_prefix])
    assert fixed.exit_code == 0, fixed.output
    assert f"fixed {name}: partitions 6 -> 8" in fixed.output
    assert len(admin.list_topics(name, timeout=10).topics[name].partitions) == 8
    again = runner.invoke(app, ["apply", "--catalog", str(path), "--prefix", catalog_prefix])
    assert again.exit_code == 0 and "no change" in again.output
