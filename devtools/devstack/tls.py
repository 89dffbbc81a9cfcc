"""A certificate authority for the secured local stack, made with ``cryptography``.

``egov-bus dev up --secure`` makes a fresh CA per stack and signs one broker
certificate with it (valid for 127.0.0.1 and localhost, for serving and, on
the controller listener, as the broker's client certificate). Clients verify
the broker against ``ca.pem`` (``EGOV_SSL_CA_LOCATION``). The CA's private key
is not kept: nothing else is ever signed by it, so nobody can mint a second
broker.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from bus.private_files import write_private

#: Long enough for a development stack left running; a deployment's certificates come from its own CA.
VALIDITY = dt.timedelta(days=30)
BROKER_NAME = "broker"


@dataclass(frozen=True)
class StackTls:
    """Where the stack's TLS files are."""

    ca_pem: Path
    broker_pem: Path  # the broker's private key (PKCS#8) followed by its certificate chain, mode 0600


def _name(common_name: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "egov-bus dev stack"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def make_stack_tls(directory: Path, now: dt.datetime | None = None) -> StackTls:
    """A new CA and a broker certificate signed by it, written under ``directory``."""
    now = now or dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("egov-bus dev CA")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    broker_key = ec.generate_private_key(ec.SECP256R1())
    broker_cert = (
        x509.CertificateBuilder()
        .subject_name(_name(BROKER_NAME))
        .issuer_name(ca_name)
        .public_key(broker_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        ]), critical=False)
        # Server for clients, client for the controller listener (mutual TLS between broker and controller).
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    ca_pem = directory / "ca.pem"
    ca_pem.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    broker_pem = directory / "broker.pem"
    key_pem = broker_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption())
    write_private(broker_pem, key_pem + broker_cert.public_bytes(serialization.Encoding.PEM)
                  + ca_cert.public_bytes(serialization.Encoding.PEM))
    return StackTls(ca_pem=ca_pem, broker_pem=broker_pem)
