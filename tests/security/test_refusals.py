"""What the broker refuses, asserted from its answers: each principal can do its job and nothing else.

Every test runs in its own namespace (topic and user prefix) on the session's
secured broker (SASL_SSL, SCRAM-SHA-512, StandardAuthorizer with
allow.everyone.if.no.acl.found=false), with the ACLs ``topics/acls.yaml`` gives.
"""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from schemas.topic_names import dlq_topic, ministry_feed_topic, province_feed_topic, theme_topic, view_topic

pytestmark = pytest.mark.integration

TIMEOUT = 15.0


def _produce(settings, topic: str, **extra) -> KafkaError | None:
    """Produce one record and return the broker's verdict (None: acknowledged)."""
    outcome: list[KafkaError | None] = []
    producer = Producer(settings.librdkafka_config(**{"enable.idempotence": True, "acks": "all",
                                                     "message.timeout.ms": 10_000, **extra}))
    producer.produce(topic, key=b"32.01", value=b"x", on_delivery=lambda err, _msg: outcome.append(err))
    producer.flush(TIMEOUT)
    assert outcome, f"no delivery report for {topic} within {TIMEOUT}s"
    return outcome[0]


def _read_error(settings, topic: str, group: str | None = None) -> KafkaError | None:
    """Read ``topic`` from the start in ``group``; the first error the broker answers, or None once a record came."""
    consumer = Consumer(settings.librdkafka_config(**{
        "group.id": group or f"{settings.sasl_username}.reader-{uuid.uuid4().hex[:6]}",
        "auto.offset.reset": "earliest", "enable.auto.commit": False,
    }))
    try:
        consumer.subscribe([topic])
        deadline_polls = int(TIMEOUT / 0.5)
        for _ in range(deadline_polls):
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() in (KafkaError._PARTITION_EOF,):
                    continue
                return msg.error()
            return None
        raise AssertionError(f"neither a record nor an error from {topic} within {TIMEOUT}s")
    finally:
        consumer.close()


@pytest.fixture
def region(namespace):
    user = namespace.policy.region_user("32.01")
    namespace.enrol(user)
    return namespace.settings(user)


def test_a_region_writes_its_theme_topics_and_nothing_else(namespace, region) -> None:
    p = namespace.prefix
    assert _produce(region, theme_topic("budgeting", p)) is None
    for topic in (view_topic("integration_index", p), dlq_topic("budgeting", p), province_feed_topic("32", p),
                  ministry_feed_topic("finance", p)):
        err = _produce(region, topic)
        assert err is not None and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, (topic, err)


def test_a_region_reads_no_theme_topic(namespace, region) -> None:
    err = _read_error(region, theme_topic("budgeting", namespace.prefix))
    # A group of its own is refused first; with one of its own the topic would be.
    assert err is not None and err.code() in (KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.GROUP_AUTHORIZATION_FAILED), err
    consumer = Consumer(region.librdkafka_config(**{"group.id": "unused", "enable.auto.commit": False}))
    try:
        # Assigned by hand (no group at all): the fetch itself is refused.
        consumer.assign([TopicPartition(theme_topic("budgeting", namespace.prefix), 0, 0)])
        codes = []
        for _ in range(int(TIMEOUT / 0.5)):
            msg = consumer.poll(0.5)
            assert msg is None or msg.error(), "a region read a record of a theme topic"
            if msg is not None:
                codes.append(msg.error().code())
                if codes[-1] == KafkaError.TOPIC_AUTHORIZATION_FAILED:
                    break
        assert KafkaError.TOPIC_AUTHORIZATION_FAILED in codes, codes
    finally:
        consumer.close()


def test_a_region_cannot_join_the_processors_group(namespace, region) -> None:
    err = _read_error(region, theme_topic("budgeting", namespace.prefix), group=namespace.app_id)
    assert err is not None and err.code() in (KafkaError.GROUP_AUTHORIZATION_FAILED, KafkaError.TOPIC_AUTHORIZATION_FAILED), err
    admin = AdminClient(region.librdkafka_config())
    from confluent_kafka import ConsumerGroupTopicPartitions

    future = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(namespace.app_id)])[namespace.app_id]
    with pytest.raises(KafkaException) as refused:
        future.result(timeout=TIMEOUT)
    assert refused.value.args[0].code() == KafkaError.GROUP_AUTHORIZATION_FAILED


def test_a_region_cannot_use_the_processors_transactional_ids(namespace, region) -> None:
    producer = Producer(region.librdkafka_config(**{"transactional.id": f"{namespace.app_id}-0123456789ab"}))
    with pytest.raises(KafkaException) as refused:
        producer.init_transactions(TIMEOUT)
    assert refused.value.args[0].code() == KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED


def test_a_region_cannot_create_or_delete_topics(namespace, region) -> None:
    admin = AdminClient(region.librdkafka_config())
    name = f"{namespace.prefix}.egov.rogue.events"
    with pytest.raises(KafkaException) as refused:
        admin.create_topics([NewTopic(name, 1, 1)])[name].result(timeout=TIMEOUT)
    assert refused.value.args[0].code() in (KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.CLUSTER_AUTHORIZATION_FAILED)
    victim = theme_topic("budgeting", namespace.prefix)
    with pytest.raises(KafkaException) as refused:
        admin.delete_topics([victim])[victim].result(timeout=TIMEOUT)
    assert refused.value.args[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED


def test_a_province_reads_its_own_feed_and_not_another(namespace) -> None:
    p = namespace.prefix
    operator = namespace.stack.operator
    assert _produce(operator, province_feed_topic("32", p)) is None
    assert _produce(operator, province_feed_topic("33", p)) is None
    user = namespace.policy.province_user("32")
    namespace.enrol(user)
    province = namespace.settings(user)
    assert _read_error(province, province_feed_topic("32", p), group=f"{user}.dashboard") is None
    err = _read_error(province, province_feed_topic("33", p), group=f"{user}.dashboard")
    assert err is not None and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, err
    # Its own feed, but in a group that is not its own.
    err = _read_error(province, province_feed_topic("32", p), group=f"{namespace.prefix}.province-33.dashboard")
    assert err is not None and err.code() == KafkaError.GROUP_AUTHORIZATION_FAILED, err
    # And no theme topic.
    err = _read_error(province, theme_topic("budgeting", p), group=f"{user}.dashboard")
    assert err is not None and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, err


def test_the_views_api_reads_views_and_writes_nothing(namespace) -> None:
    p = namespace.prefix
    user = namespace.policy.user("views-api")
    namespace.enrol(user)
    views = namespace.settings(user)
    assert _produce(namespace.stack.operator, view_topic("integration_index", p)) is None
    assert _read_error(views, view_topic("integration_index", p), group=f"egov-views-api-{uuid.uuid4().hex}") is None
    for topic in (view_topic("integration_index", p), theme_topic("budgeting", p), dlq_topic("budgeting", p),
                  province_feed_topic("32", p)):
        err = _produce(views, topic, **{"enable.idempotence": False})
        assert err is not None and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, (topic, err)
    err = _read_error(views, theme_topic("budgeting", p), group=f"egov-views-api-{uuid.uuid4().hex}")
    assert err is not None and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, err
