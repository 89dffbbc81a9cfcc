"""End to end through real `egov-bus process` workers on the real broker and registry.

Simulated events are published to the (prefixed) theme topics; the test
recomputes every view value on its own from what it published and compares
with the compacted view topics. Then: the same events again change nothing;
poison records land in the DLQ with their reason while the worker keeps going.
"""

from __future__ import annotations

import os
import random
import uuid
from decimal import Decimal

import pytest

import schemas
from adapters.privacy import Pseudonymizer
from adapters.simulator.generator import generate_events
from bus.kafka import EgovProducer
from bus.serde import AvroDeserializer, AvroSerializer
from schemas.cloudevents import build_headers, ce_source
from tests.fixtures.processors import group_lag, read_topic, wait_until
from tests.fixtures.views_oracle import actual_views, comparable, expected_views, utc_month
from topics.catalog import load_catalog
from topics.provision import apply

pytestmark = pytest.mark.integration

# The acceptance scale; EGOV_TEST_E2E_EVENTS shrinks it for quick local runs.
EVENTS = int(os.environ.get("EGOV_TEST_E2E_EVENTS", "0") or 0) or 50_000


def publish(settings, registry, prefix: str, events) -> None:
    producer = EgovProducer(settings)
    serializers: dict[str, AvroSerializer] = {}
    for e in events:
        et = schemas.event_type(type(e).__name__)
        topic = f"{prefix}.{et.topic}"
        ser = serializers.get(et.name) or serializers.setdefault(et.name, AvroSerializer(registry, et.avro_schema))
        producer.produce(topic, ser(e.to_avro(), topic), key=e.envelope.region_code, headers=build_headers(e, et))
    producer.flush(60)


@pytest.mark.timeout(1200)
def test_views_exact_idempotent_and_poison_goes_to_dlq(stack_settings, registry, admin, catalog_prefix, start_worker):
    prefix = catalog_prefix
    catalog = load_catalog(prefix=prefix)
    apply(admin, catalog, timeout=30)
    events = list(generate_events(seed=20261128, count=EVENTS, pseudonymizer=Pseudonymizer("e2e-test-key-not-secret")))
    expected = expected_views(events)
    app_id = f"egov-test-{uuid.uuid4().hex[:8]}"
    publish(stack_settings, registry, prefix, events)
    worker = start_worker(prefix, app_id)

    theme_topics = [t.name for t in catalog.of_kind("theme")]

    last_diff: list = []

    def views_match():
        assert worker.alive(), worker.log_tail()
        got = comparable(actual_views(stack_settings, registry, prefix), expected)
        last_diff[:] = [(k, got[k], v) for k, v in expected.items() if got[k] != v][:5]
        return not last_diff

    try:
        wait_until(views_match, timeout=float(os.environ.get("EGOV_TEST_E2E_TIMEOUT", "600")), what=f"the views of {EVENTS} events", interval=3)
    except AssertionError:
        raise AssertionError(f"views differ, e.g. {last_diff}\nworker log:\n{worker.log_tail()}") from None
    assert comparable(actual_views(stack_settings, registry, prefix), expected) == expected

    # The same events again: processed (the group catches up) but no view changes.
    view_topics = [f"{prefix}.egov.view.{v}" for v in ("integration_index", "budget_absorption", "complaint_service_level", "licensing_throughput")]
    before = {t: len(read_topic(stack_settings, t)) for t in view_topics}
    publish(stack_settings, registry, prefix, events)
    wait_until(lambda: group_lag(stack_settings, app_id, theme_topics) == 0, 300, "the worker to consume the duplicates", 2)
    assert {t: len(read_topic(stack_settings, t)) for t in view_topics} == before
    assert comparable(actual_views(stack_settings, registry, prefix), expected) == expected

    # Poison records on the complaints topic: each lands in the DLQ with its reason.
    topic = f"{prefix}.egov.complaints.events"
    dlq = f"{prefix}.egov.complaints.dlq"
    et = schemas.event_type("ComplaintReceived")
    good = next(e for e in events if type(e).__name__ == "ComplaintReceived").to_avro()
    unknown_region = dict(good, envelope=dict(good["envelope"], region_code="99.99", event_id=str(uuid.uuid4())))
    ser = AvroSerializer(registry, et.avro_schema)
    poison = {
        "random": bytes(random.Random(1).getrandbits(8) for _ in range(40)),
        "magic": b"\x07" + ser(good, topic)[1:],
        "unknown-id": b"\x00\x7f\xff\xff\xf0" + ser.encode_body(good),
        "region": ser(unknown_region, topic),
    }
    producer = EgovProducer(stack_settings)
    for name, value in poison.items():
        producer.produce(topic, value, key="99.99", headers=[("poison", name.encode())])
    # A valid new event after the poison is still counted.
    region = good["envelope"]["region_code"]
    extra = schemas.models.ComplaintReceived.new(
        region_code=region, source_system="e2e", occurred_at=events[-1].envelope.occurred_at,
        complaint_id="after-poison", category="infrastruktur", channel="web",
    )
    producer.produce(topic, ser(extra.to_avro(), topic), key=region, headers=build_headers(extra, et))
    producer.flush(30)

    def dlq_reasons():
        return {
            dict(m.headers())["poison"].decode(): (dict(m.headers())["error.stage"].decode(), dict(m.headers())["error.class"].decode())
            for m in read_topic(stack_settings, dlq)
        }

    try:
        reasons = wait_until(lambda: len(dlq_reasons()) == 4 and dlq_reasons(), 120, "4 dead letters")
    except AssertionError:
        raise AssertionError(f"dead letters: {dlq_reasons()}\nworker alive: {worker.alive()}\n{worker.log_tail()}") from None
    assert reasons == {
        "random": ("decode", "WireFormatError") if poison["random"][0] != 0 else reasons["random"],
        "magic": ("decode", "WireFormatError"),
        "unknown-id": ("decode", "UnknownSchemaError"),
        "region": ("validate", "SchemaValidationError"),
    }
    for m in read_topic(stack_settings, dlq):
        headers = dict(m.headers())
        assert headers["original.topic"].decode() == topic
        assert m.value() == poison[headers["poison"].decode()]
    month = utc_month(extra.envelope.occurred_at)
    key = ("complaint_service_level", f"{region}|{month}")
    before_received = sum(1 for e in events if type(e).__name__ == "ComplaintReceived" and e.envelope.region_code == region and utc_month(e.envelope.occurred_at) == month)
    want = before_received + 1
    resolved = sum(1 for e in events if type(e).__name__ == "ComplaintResolved" and e.envelope.region_code == region and utc_month(e.received_at) == month)
    if min(want, resolved, want - resolved) < 5:
        want = None  # suppressed (complementary): the integration index below still shows the count
    wait_until(
        lambda: (actual_views(stack_settings, registry, prefix).get(key) or {}).get("received") == want
        and actual_views(stack_settings, registry, prefix)[("integration_index", f"{region}|complaints")]["events_total"]
        == expected[("integration_index", f"{region}|complaints")]["events_total"] + 1,
        120,
        "the valid event after the poison to be counted",
    )
    assert worker.alive(), worker.log_tail()

    # `dlq inspect` shows them; `dlq replay` sends the unknown-region one back, where it fails again.
    import subprocess
    import sys
    from pathlib import Path

    egov = str(Path(sys.executable).with_name("egov-bus"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("EGOV_")}
    env.update(EGOV_BOOTSTRAP_SERVERS=stack_settings.bootstrap_servers, EGOV_SCHEMA_REGISTRY_URL=stack_settings.schema_registry_url,
               EGOV_SCHEMA_AUTO_REGISTER="true")
    inspect = subprocess.run([egov, "dlq", "inspect", "complaints", "--prefix", prefix], capture_output=True, text=True, env=env, timeout=60)
    assert inspect.returncode == 0 and "4 dead letter(s)" in inspect.stdout, inspect.stdout + inspect.stderr
    replayed = subprocess.run(
        [egov, "dlq", "replay", "complaints", "--prefix", prefix, "--error-class", "SchemaValidationError"],
        capture_output=True, text=True, env=env, timeout=60,
    )
    assert replayed.returncode == 0 and "replayed 1 dead letter(s)" in replayed.stdout, replayed.stdout + replayed.stderr
    wait_until(lambda: len(read_topic(stack_settings, dlq)) == 5, 120, "the replayed record back in the DLQ")
    assert worker.alive(), worker.log_tail()

    # `egov-bus views` prints the view from its compacted topic.
    budget_keys = sum(1 for view, _ in expected if view == "budget_absorption")
    shown = subprocess.run([egov, "views", "budget_absorption", "--prefix", prefix, "--limit", "1"], capture_output=True, text=True, env=env, timeout=60)
    assert shown.returncode == 0 and f"budget_absorption: {budget_keys} row(s), showing 1" in shown.stdout, shown.stdout + shown.stderr



@pytest.mark.timeout(600)
def test_legacy_papua_code_is_rekeyed_and_raw_nik_is_refused(stack_settings, registry, admin, catalog_prefix, start_worker):
    """A pre-2022 Papua code (91.01, now 93.01 in Papua Pegunungan) is counted, keyed and routed under the
    current code; a value shaped like a raw NIK goes to the DLQ at the transform stage and is counted nowhere."""
    prefix = catalog_prefix
    apply(admin, load_catalog(prefix=prefix), timeout=30)
    events = list(generate_events(seed=5, count=3000, pseudonymizer=Pseudonymizer("e2e-test-key-not-secret")))
    budget = next(e for e in events if type(e).__name__ == "BudgetAllocated")
    permit = next(e for e in events if type(e).__name__ == "PermitApplied")
    producer = EgovProducer(stack_settings)

    et = schemas.event_type("BudgetAllocated")
    topic = f"{prefix}.{et.topic}"
    legacy = budget.to_avro()
    legacy["envelope"] = dict(legacy["envelope"], region_code="91.01", event_id=str(uuid.uuid4()))
    producer.produce(topic, AvroSerializer(registry, et.avro_schema)(legacy, topic), key="91.01", headers=build_headers(budget, et))

    pt = schemas.event_type("PermitApplied")
    ptopic = f"{prefix}.{pt.topic}"
    raw_nik = dict(permit.to_avro(), permit_id="3201011203900001")
    raw_nik["envelope"] = dict(raw_nik["envelope"], event_id=str(uuid.uuid4()))
    region = raw_nik["envelope"]["region_code"]
    producer.produce(ptopic, AvroSerializer(registry, pt.avro_schema)(raw_nik, ptopic), key=region, headers=build_headers(permit, pt))
    producer.flush(30)

    worker = start_worker(prefix, f"egov-test-{uuid.uuid4().hex[:8]}")
    key = ("budget_absorption", f"93.01|{budget.fiscal_year}")
    index = ("integration_index", "93.01|budgeting")
    views = wait_until(lambda: {key, index} <= set(v := actual_views(stack_settings, registry, prefix)) and v, 180, "the re-keyed event in the views")
    assert Decimal(views[key]["allocated"]) == budget.amount
    assert views[index]["events_total"] == 1
    assert not [k for k in views if k[1].startswith("91.")]
    assert not [k for k in views if k == ("integration_index", f"{region}|licensing")]

    # The corrected copy went back to the theme topic under the current key, and on to the new province's feed.
    decode = AvroDeserializer(registry)
    rekeyed = [m for m in read_topic(stack_settings, topic) if m.key() == b"93.01"]
    assert [str(decode(m.value()).value["envelope"]["event_id"]) for m in rekeyed] == [legacy["envelope"]["event_id"]]
    assert dict(rekeyed[0].headers())["ce_source"].decode() == ce_source("93.01", legacy["envelope"]["source_system"])
    feed = read_topic(stack_settings, f"{prefix}.egov.province.93.events")
    assert [(m.key(), decode(m.value()).value["envelope"]["region_code"]) for m in feed] == [(b"93.01", "93.01")]

    letters = wait_until(lambda: read_topic(stack_settings, f"{prefix}.egov.licensing.dlq"), 60, "the raw-NIK dead letter")
    assert len(letters) == 1
    headers = {k: v.decode() for k, v in letters[0].headers()}
    assert (headers["error.stage"], headers["error.class"]) == ("transform", "TransformError")
    assert "permit_id" in headers["error.message"] and "3201011203900001" not in headers["error.message"]
    assert worker.alive(), worker.log_tail()
