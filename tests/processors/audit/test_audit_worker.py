"""Issue 14's audit acceptance on the secured broker: a real worker writes the chain, `egov-bus audit verify`
passes on the untouched run and across a restart, names each record altered, deleted and swapped in a copy
of the theme partition, and a receipt of one event checks offline (and, one byte changed, does not)."""

from __future__ import annotations

import subprocess
from datetime import datetime, timedelta, timezone

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import NewTopic
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from adapters.sdk import Publisher
from adapters.sdk.signer import BatchSigner
from adapters.simulator.generator import generate_events
from bus.keys import write_signing_key
from bus.keys.register import KeyRegister
from processors.audit.chain import AuditRecord
from schemas.signing import KeyRecord, SigningKey, raw_public_key
from schemas.topic_names import audit_topic, theme_topic
from tests.fixtures.processors import EGOV, read_topic, wait_until

pytestmark = pytest.mark.integration

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _record(key: SigningKey) -> KeyRecord:
    return KeyRecord(key.key_id, key.region_code, raw_public_key(key.private_key), T0)


def _signed(publisher: Publisher, seed: int, n: int, signer: BatchSigner) -> list[tuple]:
    items = []
    for e in generate_events(seed, n, regions="32.01", themes="budgeting", start=T0 + timedelta(days=seed), rate=100):
        codec = publisher.builder.codec_of(e)
        key, value, headers = codec.encode_record(e)
        items.append((codec, key, value, list(headers)))
    signer.sign(items)
    return [(codec.topic, key, value, headers) for codec, key, value, headers in items]


def _audited(operator, prefix: str, topic: str) -> int:
    return sum(AuditRecord.decode(m.value()).count for m in read_topic(operator, audit_topic(prefix))
               if m.key().decode().startswith(f"{topic}:"))


@pytest.mark.timeout(900)
def test_audit_chain_verifies_names_tampering_and_gives_receipts(namespace, tmp_path) -> None:
    p = namespace.prefix
    operator = namespace.stack.operator
    topic = theme_topic("budgeting", p)
    region, centre = SigningKey("32.01", Ed25519PrivateKey.generate()), SigningKey("pusat", Ed25519PrivateKey.generate())
    keys_dir = tmp_path / "keys"
    keys_dir.mkdir(mode=0o700)
    centre_file = write_signing_key(keys_dir, centre)
    KeyRegister(operator, prefix=p).write(_record(region), _record(centre))

    user = namespace.policy.user("processors")
    namespace.enrol(user)
    operator_env = {k: v for k, v in namespace.environ(user).items() if k != "EGOV_ENV_FILE"}
    operator_env["EGOV_ENV_FILE"] = str(namespace.stack.operator_env)
    workers: list[subprocess.Popen] = []

    def start_worker(n: int) -> subprocess.Popen:
        env = namespace.environ(user)
        # A fresh state directory each time: the second worker must restore the chain's head from the changelog.
        env.update(EGOV_PROCESSOR_DATA_DIR=str(tmp_path / f"data-{n}"), EGOV_VERIFY_SIGNATURES="true",
                   EGOV_CENTRE_SIGNING_KEY_FILE=str(centre_file))
        with open(tmp_path / f"worker-{n}.log", "wb") as out:
            worker = subprocess.Popen([EGOV, "process", "--topic-prefix", p, "--log-level", "warn"], stdout=out,
                                      stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
        workers.append(worker)
        return worker

    def stop(worker: subprocess.Popen) -> None:
        if worker.poll() is None:
            worker.terminate()
            worker.wait(timeout=60)

    def egov(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([EGOV, *args], env=operator_env, cwd=tmp_path, capture_output=True, text=True,
                              timeout=300)

    try:
        publisher = Publisher(operator.model_copy(update={"schema_auto_register": True,
                                                          "spool_dir": str(tmp_path / "spool")}),
                              source_system="test", component="audit", topic_for=lambda et: theme_topic(et.theme, p),
                              signer=None)
        signer = BatchSigner({"32.01": region})
        first, second = _signed(publisher, 1, 40, signer), _signed(publisher, 2, 20, signer)
        publisher.close()
        producer = Producer(operator.librdkafka_config(**{"enable.idempotence": True, "acks": "all"}))

        def produce(items: list[tuple]) -> None:
            for t, key, value, headers in items:
                producer.produce(t, value, key, headers=headers)
            assert producer.flush(30) == 0

        worker = start_worker(0)
        produce(first)
        assert wait_until(lambda: worker.poll() is None and _audited(operator, p, topic) == 40, 180,
                          "the first 40 records audited"), (tmp_path / "worker-0.log").read_text()[-3000:]
        stop(worker)
        worker = start_worker(1)
        produce(second)
        assert wait_until(lambda: worker.poll() is None and _audited(operator, p, topic) == 60, 180,
                          "all 60 records audited after the restart"), (tmp_path / "worker-1.log").read_text()[-3000:]

        log = [AuditRecord.decode(m.value()) for m in read_topic(operator, audit_topic(p))]
        chain = [r for r in log if r.topic == topic]
        assert [r.seq for r in chain] == list(range(len(chain))) and len(chain) >= 2
        assert all(r.kid == centre.key_id for r in chain)

        clean = egov("audit", "verify", "--prefix", p)
        assert clean.returncode == 0, clean.stdout + clean.stderr
        assert clean.stdout.strip().endswith("60 record(s) checked: OK"), clean.stdout

        # A copy of the partition with one record altered, one deleted and two swapped.
        records = [m for m in read_topic(operator, topic)]
        partition = records[0].partition()
        assert {m.partition() for m in records} == {partition} and [m.offset() for m in records] == list(range(60))
        copy = [(m.key(), m.value(), m.headers()) for m in records]
        key5, value5, headers5 = copy[5]
        copy[5] = (key5, value5[:-1] + bytes([value5[-1] ^ 0x01]), headers5)
        copy[30], copy[31] = copy[31], copy[30]
        del copy[20]
        admin = namespace.stack.admin()
        for future in admin.create_topics([NewTopic(f"{topic}.copy", 12, 1)]).values():
            future.result(30)
        for key, value, headers in copy:
            producer.produce(f"{topic}.copy", value, key, partition=partition, headers=headers)
        assert producer.flush(30) == 0
        tampered = egov("audit", "verify", "--prefix", p, "--theme", "budgeting", "--source-topic-suffix", ".copy")
        assert tampered.returncode == 1, tampered.stdout + tampered.stderr
        assert tampered.stdout.splitlines()[:3] == [
            f"altered   {topic}[{partition}]@5: differs from the audited record (at copy position 5)",
            f"missing   {topic}[{partition}]@20: audited, not found",
            f"reordered {topic}[{partition}]@30 and @31: swapped",
        ], tampered.stdout
        assert tampered.stdout.splitlines()[3].endswith("60 record(s) checked: 3 problem(s)"), tampered.stdout

        # A receipt for one event, checked offline; one byte changed, it is not.
        event_id = dict(records[42].headers())["ce_id"].decode()
        made = egov("audit", "receipt", event_id, "--prefix", p, "--output", str(tmp_path / "receipt.json"))
        assert made.returncode == 0, made.stdout + made.stderr
        checked = egov("audit", "check-receipt", str(tmp_path / "receipt.json"))
        assert checked.returncode == 0, checked.stdout
        assert checked.stdout.startswith(f"receipt valid: event {event_id} ({topic}[{partition}]@42, region 32.01)")
        raw = (tmp_path / "receipt.json").read_bytes()
        middle = len(raw) // 2
        (tmp_path / "changed.json").write_bytes(raw[:middle] + bytes([raw[middle] ^ 0x01]) + raw[middle + 1:])
        refused = egov("audit", "check-receipt", str(tmp_path / "changed.json"))
        assert refused.returncode == 1 and refused.stdout.startswith("receipt invalid: "), refused.stdout
    finally:
        for worker in workers:
            stop(worker)
