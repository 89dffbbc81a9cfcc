"""Typed settings for every egov-bus component (prefix ``EGOV_``).

Settings come from, in order of precedence: keyword arguments, ``EGOV_*``
environment variables, an env file (``.egov/dev.env`` written by
``egov-bus dev up`` is the usual one). An ``EGOV_*`` key that no setting
declares is refused with a message that names it, because a typo such as
``EGOV_BOOTSTRAP_SERVER`` would otherwise silently fall back to a default.

This module is the one place that turns settings into librdkafka and schema
registry client configuration.
"""

from __future__ import annotations

import difflib
import os
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bus.errors import ConfigurationError

ENV_PREFIX = "EGOV_"
DEFAULT_ENV_FILE = Path(".egov/dev.env")

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


class EgovSettings(BaseSettings):
    """Connection, security and behaviour settings shared by all components."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        extra="forbid",
        case_sensitive=False,
        frozen=True,
    )

    bootstrap_servers: str = Field(
        "127.0.0.1:9092", description="Kafka bootstrap servers, comma separated host:port"
    )
    schema_registry_url: str = Field(
        "http://127.0.0.1:8081/apis/ccompat/v7",
        description="Confluent-compatible schema registry base URL",
    )
    client_id: str = Field("egov-bus", description="Kafka client.id, shown in broker logs and quotas")
    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_ca_location: str | None = None
    ssl_certificate_location: str | None = None
    ssl_key_location: str | None = None
    ssl_key_password: SecretStr | None = None
    schema_registry_basic_auth: SecretStr | None = Field(
        None, description="user:password for the schema registry"
    )
    signing_key_file: str | None = Field(
        None,
        description="A region's private signing key, <region code>.key (egov-bus keys new): its publishers sign "
        "every batch with it",
    )
    signing_keys_dir: str | None = Field(
        None,
        description="A directory of <region code>.key files, for publishers that speak for several regions "
        "(the gateway, the simulator)",
    )
    centre_signing_key_file: str | None = Field(
        None,
        description="The centre's private key (pusat.key, egov-bus keys new --centre): the processors sign "
        "the audit log and corrected copies of events with it",
    )
    verify_signatures: bool = Field(
        True,
        description="Processors verify each record's signature against egov.keys and dead-letter what fails "
        "(stage verify); off only for tests and benchmarks of other things",
    )
    audit_log: bool = Field(
        True,
        description="Processors append a record per committed interval and theme partition to egov.audit.log "
        "(a SHA-256 chain of the records' digests, signed with the centre's key), in the commit's transaction",
    )
    schema_auto_register: bool = Field(
        False,
        description="Let publishers register a schema the registry lacks (the dev stack's default); off, they "
        "only look schemas up and a missing one is refused: the operator registers them (`egov-bus schemas register`)",
    )
    request_timeout_s: float = Field(
        10.0, gt=0, description="Upper bound of any single blocking call (metadata, registry, flush)"
    )
    # The longest outage a publisher rides out with every record written once: until then what is in
    # its producer is retried under the same sequence numbers; a record that fails is spooled and sent
    # again, and if the broker had written it, it is twice in the topic (docs/regional.md). A leader
    # election took up to ~60 s on the loaded 3-broker test cluster, and regional links drop for
    # minutes; Kafka's default, 120 s, sits right at the fault suite's 2-minute network cut.
    delivery_timeout_s: float = Field(
        300.0, gt=0, description="How long the producer keeps retrying one record before failing it (a "
        "publisher then spools it): the longest outage ridden out without a record written twice; the "
        "worker's records are bounded by its transaction timeout, 30 s"
    )
    pseudonym_key: SecretStr | None = Field(
        None, description="HMAC-SHA256 key that turns a NIK into nik_pseudonym (regional side only)"
    )
    topic_replication_factor: int | None = Field(
        None,
        ge=1,
        description="Replication factor for `egov-bus topics apply` (default: the catalogue's; always clamped to the broker count)",
    )
    topic_min_insync_replicas: int | None = Field(
        None,
        ge=1,
        description="min.insync.replicas of the topics `egov-bus topics apply` and the processors create (default: "
        "the catalogue's, 2; always at most the replication factor)",
    )
    spool_dir: str = Field(
        ".egov/spool",
        description="Directory of the publishers' store-and-forward spools, one SQLite file per component",
    )
    spool_max_events: int = Field(
        1_000_000, gt=0, description="Events the spool holds at most; beyond it publishing fails with SpoolFullError"
    )
    spool_min_free_mb: int = Field(
        64, ge=0, description="MiB kept free on the spool's disk: below it new events are refused (SpoolFullError), "
        "so the spool can still delete what it has sent (0: no reserve)"
    )
    gateway_api_keys_file: str | None = Field(
        None, description="YAML/JSON file of the ingest gateway's hashed per-region API keys"
    )
    gateway_api_keys: str | None = Field(
        None,
        description="Hashed per-region API keys inline: 'region_code=sha256:<hex>' entries, comma separated",
    )
    # 200/s is far above what one region's system posts (a few events/s at its peak) and a small share
    # of one gateway process, so a runaway key cannot starve the others; bulk loads use /v1/batch.
    gateway_rate_limit: float = Field(
        200.0, ge=0,
        description="Events per second one API key may send to one gateway process, unless its keys-file "
        "entry sets 'rate' (0: unlimited)",
    )
    # As large as the default --max-batch-events, so a full-size batch passes from a full bucket.
    gateway_rate_burst: int = Field(
        1000, ge=1,
        description="Events one API key may send at once (its token bucket's size), unless its entry sets 'burst'",
    )
    gateway_max_in_flight: int = Field(
        10_000,
        gt=0,
        description="Events a gateway process waits on at once (sent, not yet acked or spooled); beyond it 503",
    )
    # Below the delivery timeout: an HTTP client (or a load balancer) gives up long before 120 s. A
    # request answered 503 may still be written; its retry with the same event_id is deduplicated.
    gateway_ack_timeout_s: float = Field(
        30.0, gt=0,
        description="How long a gateway request waits for its events to be acknowledged or spooled before "
        "it is answered 503 with Retry-After",
    )
    views_api_tokens_file: str | None = Field(
        None,
        description="YAML file of the views API's hashed bearer tokens and their scopes (nation or "
        "province:<code>); `egov-bus dashboard token` adds one",
    )
    views_stale_after_s: float = Field(
        900.0,
        gt=0,
        description="The dashboard marks a view stale when its topic got no new row for this many seconds",
    )
    processor_app_id: str = Field(
        "egov-processors", description="Faust application id: the processors' consumer group and table prefix"
    )
    processing_guarantee: Literal["exactly_once", "at_least_once"] = Field(
        "exactly_once", description="Faust processing guarantee; views stay exact either way (idempotent by event_id)"
    )
    processor_data_dir: str = Field(
        ".egov/processors",
        description="Local state directory of a processor worker (RocksDB state, checkpoints, process id)",
    )
    commit_interval_ms: int = Field(
        100,
        ge=10,
        le=60_000,
        description="How often a processor worker commits (offsets, outputs, state): the latency floor of the views",
    )
    dedupe_window: timedelta = Field(
        timedelta(days=7),
        description="How long a processor remembers event ids (arrival time) to drop duplicates, ISO 8601 (P7D, PT12H) or '7 days'",
    )
    metrics_port: int | None = Field(
        None, ge=0, le=65535, description="Port of a component's Prometheus /metrics endpoint (0: a free port)"
    )

    @field_validator("dedupe_window")
    @classmethod
    def _positive_window(cls, value: timedelta) -> timedelta:
        if value.total_seconds() < 60:
            raise ValueError("dedupe_window must be at least one minute (e.g. P7D, PT12H or '7 days')")
        return value

    @model_validator(mode="after")
    def _check_security(self) -> "EgovSettings":
        if self.security_protocol.startswith("SASL"):
            if not (self.sasl_mechanism and self.sasl_username and self.sasl_password):
                raise ValueError(
                    "security_protocol SASL_* needs sasl_mechanism, sasl_username and sasl_password"
                )
        return self

    # -- conversions -----------------------------------------------------

    def librdkafka_config(self, **overrides: Any) -> dict[str, Any]:
        """Common librdkafka configuration (producer, consumer and admin).

        Every client gets a :class:`bus.kafka.connectivity.ClientWatch` as its
        ``logger`` and ``error_cb``: librdkafka's lines go to Python logging at
        DEBUG, de-duplicated, and its errors are classified for one-line
        messages. An ``error_cb`` or ``logging.Logger`` in ``overrides`` is kept
        (called, resp. given the lines).
        """
        conf: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap_servers,
            "client.id": self.client_id,
            "security.protocol": self.security_protocol,
            "socket.timeout.ms": int(self.request_timeout_s * 1000),
        }
        if self.sasl_mechanism:
            conf["sasl.mechanism"] = self.sasl_mechanism
        if self.sasl_username:
            conf["sasl.username"] = self.sasl_username
        if self.sasl_password:
            conf["sasl.password"] = self.sasl_password.get_secret_value()
        for key, value in (
            ("ssl.ca.location", self.ssl_ca_location),
            ("ssl.certificate.location", self.ssl_certificate_location),
            ("ssl.key.location", self.ssl_key_location),
        ):
            if value:
                conf[key] = value
        if self.ssl_key_password:
            conf["ssl.key.password"] = self.ssl_key_password.get_secret_value()
        conf.update(overrides)
        # Imported here: settings are loaded by tools that never build a Kafka client.
        from bus.kafka.connectivity import instrument

        return instrument(self, conf)

    def registry_config(self) -> dict[str, Any]:
        """Configuration for confluent-kafka's ``SchemaRegistryClient``."""
        conf: dict[str, Any] = {
            "url": self.schema_registry_url,
            "timeout": self.request_timeout_s,
            "max.retries": 2,
        }
        if self.schema_registry_basic_auth:
            conf["basic.auth.user.info"] = self.schema_registry_basic_auth.get_secret_value()
        if self.ssl_ca_location and self.schema_registry_url.startswith("https"):
            conf["ssl.ca.location"] = self.ssl_ca_location
        return conf


def _read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for lineno, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :]
        if "=" not in line:
            raise ConfigurationError(
                f"{path}:{lineno}: expected KEY=VALUE, got {raw!r}", path=str(path), line=lineno
            )
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip("'\"")
    return values


def _unknown_keys(keys: list[str]) -> list[str]:
    known = {f"{ENV_PREFIX}{name}".upper() for name in EgovSettings.model_fields}
    # Variables that configure tools around the settings, not the settings themselves.
    known |= {"EGOV_ENV_FILE", "EGOV_STATE_DIR", "EGOV_CACHE_DIR", "EGOV_JAVA_HOME", "EGOV_REGISTRY_JAVA_HOME", "EGOV_TEST_STATE_DIR"}
    # EGOV_TEST_* tune the test suite, not the product.
    return [
        k for k in keys if k.upper().startswith(ENV_PREFIX) and k.upper() not in known and not k.upper().startswith("EGOV_TEST_")
    ]


def _describe_unknown(unknown: list[str], source: str) -> str:
    known = [f"{ENV_PREFIX}{n}".upper() for n in EgovSettings.model_fields]
    parts = []
    for key in unknown:
        close = difflib.get_close_matches(key.upper(), known, n=1)
        parts.append(f"{key} (did you mean {close[0]}?)" if close else key)
    return f"unknown setting(s) in {source}: " + ", ".join(parts) + f"; known: {', '.join(sorted(known))}"


def load_settings(env_file: Path | str | None = None, **overrides: Any) -> EgovSettings:
    """Build settings from overrides, the environment and an optional env file.

    ``env_file`` defaults to ``$EGOV_ENV_FILE`` or, when it exists,
    ``.egov/dev.env``. Raises :class:`ConfigurationError` naming every
    unknown or invalid key.
    """
    if env_file is None:
        env_file = os.environ.get("EGOV_ENV_FILE") or (DEFAULT_ENV_FILE if DEFAULT_ENV_FILE.exists() else None)
    file_values: dict[str, str] = {}
    if env_file is not None:
        path = Path(env_file)
        if not path.exists():
            raise ConfigurationError(f"settings file {path} does not exist", path=str(path))
        file_values = _read_env_file(path)
        unknown = _unknown_keys(list(file_values))
        if unknown:
            raise ConfigurationError(_describe_unknown(unknown, str(path)), unknown=unknown)
    unknown_env = _unknown_keys(list(os.environ))
    if unknown_env:
        raise ConfigurationError(_describe_unknown(unknown_env, "the environment"), unknown=unknown_env)

    # Environment beats the file; explicit overrides beat both.
    merged: dict[str, Any] = {}
    for key, value in file_values.items():
        name = key[len(ENV_PREFIX) :].lower()
        if name in EgovSettings.model_fields and f"{ENV_PREFIX}{name}".upper() not in {
            k.upper() for k in os.environ
        }:
            merged[name] = value
    merged.update(overrides)
    try:
        return EgovSettings(**merged)
    except ValidationError as exc:
        problems = "; ".join(
            f"{ENV_PREFIX}{'.'.join(str(p) for p in err['loc']).upper() or 'SETTINGS'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigurationError(f"invalid settings: {problems}", errors=exc.errors(include_input=False)) from None
