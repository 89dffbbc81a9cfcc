"""SCRAM users on the broker: list, add (a fresh password, shown once), remove.

A region's systems, the gateway, the processors and the other principals of
``topics/acls.yaml`` authenticate with SCRAM-SHA-512 over TLS. The broker
keeps only salted hashes; the password exists in the answer of :func:`add_user`
and in the env file the caller chooses to write (owner-only), nowhere else.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AdminClient,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)

from bus.private_files import write_private
from bus.settings import EgovSettings
from topics.exceptions import AccessControlError

MECHANISM = "SCRAM-SHA-512"
#: Kafka's default and minimum for SCRAM-SHA-512 is 4096; the broker refuses more than 16384.
ITERATIONS = 8192


def require_cluster_admin(admin: AdminClient, settings: EgovSettings) -> None:
    """Refuse, with one clear line, settings that may not manage ACLs and SCRAM users.

    Asked first because librdkafka 2.16 aborts the process (``munmap_chunk(): invalid
    pointer``) when the broker refuses DescribeUserScramCredentials, and a refused
    DescribeAcls answers an empty list: neither says "you are not the operator".
    """
    timeout = settings.request_timeout_s
    try:
        cluster = admin.describe_cluster(include_authorized_operations=True, request_timeout=timeout).result(timeout * 2)
    except KafkaException as exc:
        raise AccessControlError(f"describing the cluster failed: {exc.args[0].str()}", code=exc.args[0].name()) from exc
    allowed = {op.name for op in cluster.authorized_operations or ()}
    if not {"DESCRIBE", "ALTER"} <= allowed:
        user = settings.sasl_username or "no credentials (PLAINTEXT)"
        raise AccessControlError(
            f"user {user} may not manage ACLs or users on Kafka at {settings.bootstrap_servers}: these commands "
            "need a super user's settings (the operator's; on the dev stack EGOV_ENV_FILE=.egov/dev.env)",
            user=user, allowed=sorted(allowed),
        )


def new_password() -> str:
    """A random 192-bit password (URL-safe: no quoting needed in an env file)."""
    return secrets.token_urlsafe(24)


def list_users(admin: AdminClient, timeout: float) -> list[str]:
    """The names of every SCRAM user of the cluster."""
    try:
        described = admin.describe_user_scram_credentials(request_timeout=timeout).result(timeout=timeout * 2)
    except KafkaException as exc:
        raise AccessControlError(f"listing the SCRAM users failed: {exc.args[0].str()}",
                                 code=exc.args[0].name()) from exc
    return sorted(described)


def _alter(admin: AdminClient, change: UserScramCredentialUpsertion | UserScramCredentialDeletion, timeout: float,
           what: str) -> None:
    for name, future in admin.alter_user_scram_credentials([change], request_timeout=timeout).items():
        try:
            future.result(timeout=timeout * 2)
        except KafkaException as exc:
            raise AccessControlError(f"{what} SCRAM user {name} failed: {exc.args[0].str()}",
                                     user=name, code=exc.args[0].name()) from exc


def add_user(admin: AdminClient, user: str, timeout: float, password: str | None = None) -> str:
    """Create ``user`` (or replace its password) and return the password."""
    password = password or new_password()
    _alter(admin, UserScramCredentialUpsertion(user, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, ITERATIONS),
                                               password.encode()), timeout, "creating")
    return password


def remove_user(admin: AdminClient, user: str, timeout: float) -> None:
    """Delete ``user``'s SCRAM credential (its ACLs stay until `acls apply --fix`)."""
    _alter(admin, UserScramCredentialDeletion(user, ScramMechanism.SCRAM_SHA_512), timeout, "removing")


def user_env(settings: EgovSettings, user: str, password: str) -> str:
    """The ``EGOV_*`` settings with which a component connects as ``user`` (an env file's text).

    Broker, CA and registry are the caller's own (the operator's), so the file
    works wherever the operator's settings do.
    """
    lines = [
        f"# connection settings of principal {user}; owner-only, keep it secret",
        f"EGOV_BOOTSTRAP_SERVERS={settings.bootstrap_servers}",
        f"EGOV_SCHEMA_REGISTRY_URL={settings.schema_registry_url}",
        "EGOV_SECURITY_PROTOCOL=SASL_SSL",
        f"EGOV_SASL_MECHANISM={MECHANISM}",
        f"EGOV_SASL_USERNAME={user}",
        f"EGOV_SASL_PASSWORD={password}",
    ]
    if settings.ssl_ca_location:
        lines.append(f"EGOV_SSL_CA_LOCATION={settings.ssl_ca_location}")
    return "\n".join(lines) + "\n"


def write_user_env(path: Path | str, settings: EgovSettings, user: str, password: str) -> Path:
    """Write :func:`user_env` to ``path``, owner-only."""
    return write_private(path, user_env(settings, user, password))
