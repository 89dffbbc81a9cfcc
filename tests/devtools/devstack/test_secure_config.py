"""Unit tests of the secured stack's pieces: the broker's configuration, the CA, passwords kept out of argv."""

from __future__ import annotations

import ipaddress
import os
import stat
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from devtools.devstack.services import KafkaBroker, SecureBroker, kafka_properties
from devtools.devstack.tls import make_stack_tls


def _props(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


def test_the_secured_broker_takes_only_sasl_ssl_and_denies_what_no_acl_allows(tmp_path: Path) -> None:
    tls = make_stack_tls(tmp_path / "tls")
    props = _props(kafka_properties(tmp_path / "data", 9093, 9094, SecureBroker(tls, "b-pass", "o-pass")))
    assert props["listeners"] == "SASL_SSL://127.0.0.1:9093,CONTROLLER://127.0.0.1:9094"
    assert props["listener.security.protocol.map"] == "CONTROLLER:SSL,SASL_SSL:SASL_SSL"
    assert props["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert props["listener.name.controller.ssl.client.auth"] == "required"
    assert props["authorizer.class.name"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert props["super.users"] == "User:broker;User:operator"
    assert "PLAINTEXT" not in props["listeners"]
    plain = _props(kafka_properties(tmp_path / "data", 9093, 9094))
    assert plain["listeners"] == "PLAINTEXT://127.0.0.1:9093,CONTROLLER://127.0.0.1:9094"
    assert "authorizer.class.name" not in plain


def test_the_ca_signs_a_broker_certificate_for_loopback_kept_owner_only(tmp_path: Path) -> None:
    tls = make_stack_tls(tmp_path / "tls")
    ca = x509.load_pem_x509_certificate(tls.ca_pem.read_bytes())
    blocks = tls.broker_pem.read_bytes().split(b"-----END PRIVATE KEY-----\n")
    assert len(blocks) == 2, "the broker file is its key, then its chain"
    broker = x509.load_pem_x509_certificates(blocks[1])[0]
    ca.public_key().verify(broker.signature, broker.tbs_certificate_bytes, ec.ECDSA(broker.signature_hash_algorithm))
    assert broker.issuer == ca.subject
    san = broker.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("127.0.0.1") in san.get_values_for_type(x509.IPAddress)
    usages = broker.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH} <= set(usages)
    assert stat.S_IMODE(tls.broker_pem.stat().st_mode) == 0o600
    # Nothing else is ever signed: the CA's private key is not kept.
    assert sorted(p.name for p in (tmp_path / "tls").iterdir()) == ["broker.pem", "ca.pem"]


def test_the_storage_tool_gets_its_scram_passwords_in_an_owner_only_argfile_not_in_argv(tmp_path: Path) -> None:
    # A stand-in for java: records the arguments it was started with and its argfile's mode and content.
    seen = tmp_path / "seen"
    fake_java = tmp_path / "java"
    fake_java.write_text(f"""#!{sys.executable}
import os, stat, sys
argfile = sys.argv[1][1:]
with open({str(seen)!r}, "w") as out:
    out.write(repr(sys.argv[1:]) + "\\n" + oct(stat.S_IMODE(os.stat(argfile).st_mode)) + "\\n" + open(argfile).read())
""")
    fake_java.chmod(0o700)
    (tmp_path / "kafka").mkdir()
    broker = KafkaBroker(tmp_path, 9093, 9094, SecureBroker(make_stack_tls(tmp_path / "tls"), "b-secret-1", "o-secret-2"))
    done = broker._run_with_argfile([str(fake_java), "-cp", "libs/*", "kafka.tools.StorageTool", "format",
                                     "--add-scram", "SCRAM-SHA-512=[name=operator,password=o-secret-2]"])
    assert done.returncode == 0, done.stderr
    argv_line, mode, content = seen.read_text().split("\n", 2)
    assert "o-secret-2" not in argv_line and argv_line.startswith("['@")
    assert mode == "0o600"
    assert "password=o-secret-2" in content
    assert not (tmp_path / "kafka" / "format.args").exists(), "the argfile outlives the tool"
    assert not os.listdir(tmp_path / "kafka")
