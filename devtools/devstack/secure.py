"""The secured stack's credentials: super users, the principals of ``topics/acls.yaml``, their env files.

``egov-bus dev up --secure`` keeps, under its state directory (all owner-only):

* ``tls/ca.pem`` (clients verify the broker with it) and ``tls/broker.pem``;
* ``secrets/super-users.json``: the broker's and the operator's SCRAM passwords,
  which the storage tool writes into the bootstrap metadata before the first start;
* ``principals/<user>.env``: one settings file per service principal of the ACL
  policy (gateway, processors, views-api, the ministry feeds' consumers), which a
  component reads with ``EGOV_ENV_FILE``; ``dev.env`` is the operator's.

Regions and provinces are enrolled afterwards with ``egov-bus users add``, as in
a deployment. ``dev down`` deletes all of it: the CA is made anew per stack.
"""

from __future__ import annotations

import json
import secrets
import shutil
from pathlib import Path

from confluent_kafka.admin import AdminClient

from bus.private_files import write_private
from bus.settings import EgovSettings
from devtools.devstack.services import SCRAM_MECHANISM, SecureBroker
from devtools.devstack.tls import make_stack_tls
from topics.acl_provision import apply_acls
from topics.acls import load_acl_policy
from topics.users import add_user, write_user_env

MECHANISM = SCRAM_MECHANISM
OPERATOR = "operator"
_SECRETS = "secrets"
_PRINCIPALS = "principals"
_TLS = "tls"


def principals_dir(state_dir: Path) -> Path:
    return state_dir / _PRINCIPALS


def prepare(state_dir: Path) -> SecureBroker:
    """A new CA, broker certificate and super-user passwords for a stack about to start."""
    forget(state_dir)
    for name in (_SECRETS, _PRINCIPALS, _TLS):
        (state_dir / name).mkdir(mode=0o700, parents=True)
    tls = make_stack_tls(state_dir / _TLS)
    security = SecureBroker(tls=tls, broker_password=secrets.token_urlsafe(24),
                            operator_password=secrets.token_urlsafe(24), operator_user=OPERATOR)
    write_private(state_dir / _SECRETS / "super-users.json", json.dumps({
        "broker": security.broker_password, "operator": security.operator_password,
    }))
    return security


def super_users(state_dir: Path) -> SecureBroker:
    """The running stack's :class:`SecureBroker` (to restart its broker, to write ``dev.env``)."""
    data = json.loads((state_dir / _SECRETS / "super-users.json").read_text())
    tls_dir = state_dir / _TLS
    from devtools.devstack.tls import StackTls

    return SecureBroker(tls=StackTls(ca_pem=tls_dir / "ca.pem", broker_pem=tls_dir / "broker.pem"),
                        broker_password=data["broker"], operator_password=data["operator"], operator_user=OPERATOR)


def operator_settings(bootstrap_servers: str, registry_url: str, security: SecureBroker) -> EgovSettings:
    return EgovSettings(
        bootstrap_servers=bootstrap_servers, schema_registry_url=registry_url, security_protocol="SASL_SSL",
        sasl_mechanism=MECHANISM, sasl_username=security.operator_user, sasl_password=security.operator_password,
        ssl_ca_location=str(security.tls.ca_pem),
    )


def create_principals(state_dir: Path, bootstrap_servers: str, registry_url: str, security: SecureBroker,
                      progress=print) -> list[str]:
    """Create the ACL policy's service users with their ACLs; write one env file each. Returns the users."""
    settings = operator_settings(bootstrap_servers, registry_url, security)
    admin = AdminClient(settings.librdkafka_config(log_level=0))
    policy = load_acl_policy(app_id=settings.processor_app_id)
    users = policy.service_users()
    for user in users:
        password = add_user(admin, user, settings.request_timeout_s)
        write_user_env(principals_dir(state_dir) / f"{user}.env", settings, user, password)
    report = apply_acls(admin, policy, timeout=settings.request_timeout_s)
    progress(f"principals: {', '.join(users)} ({len(report.created)} ACLs); settings in {principals_dir(state_dir)}")
    return users


def forget(state_dir: Path) -> None:
    """Delete the credentials, keys and principals' settings of a stack (``dev down``)."""
    for name in (_SECRETS, _PRINCIPALS, _TLS):
        shutil.rmtree(state_dir / name, ignore_errors=True)
