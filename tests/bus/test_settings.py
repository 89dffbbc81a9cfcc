"""Unit tests for typed settings."""

from __future__ import annotations

import pytest

from bus.errors import ConfigurationError, EgovBusError
from bus.settings import load_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("EGOV_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir("/")


def test_defaults_and_librdkafka_conversion() -> None:
    settings = load_settings()
    conf = settings.librdkafka_config()
    assert conf["bootstrap.servers"] == "127.0.0.1:9092"
    assert conf["security.protocol"] == "PLAINTEXT"
    assert conf["client.id"] == "egov-bus"
    assert "sasl.password" not in conf


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EGOV_BOOTSTRAP_SERVERS", "10.0.0.1:9093")
    monkeypatch.setenv("EGOV_REQUEST_TIMEOUT_S", "2.5")
    settings = load_settings()
    assert settings.bootstrap_servers == "10.0.0.1:9093"
    assert settings.librdkafka_config()["socket.timeout.ms"] == 2500
    assert settings.registry_config()["timeout"] == 2.5


def test_unknown_environment_key_is_refused_with_suggestion(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EGOV_BOOTSTRAP_SERVER", "x:1")
    with pytest.raises(ConfigurationError) as info:
        load_settings()
    assert "EGOV_BOOTSTRAP_SERVER" in str(info.value)
    assert "did you mean EGOV_BOOTSTRAP_SERVERS" in str(info.value)
    assert isinstance(info.value, EgovBusError)


def test_env_file_is_read_and_environment_wins(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = tmp_path / "dev.env"
    env.write_text("# comment\nEGOV_BOOTSTRAP_SERVERS=127.0.0.1:1111\nEGOV_CLIENT_ID=from-file\n")
    monkeypatch.setenv("EGOV_CLIENT_ID", "from-env")
    settings = load_settings(env_file=env)
    assert settings.bootstrap_servers == "127.0.0.1:1111"
    assert settings.client_id == "from-env"


def test_unknown_key_in_env_file_is_refused(tmp_path) -> None:
    env = tmp_path / "dev.env"
    env.write_text("EGOV_SCHEMA_REGISTRY=http://x\n")
    with pytest.raises(ConfigurationError, match="EGOV_SCHEMA_REGISTRY .did you mean EGOV_SCHEMA_REGISTRY_URL"):
        load_settings(env_file=env)


def test_invalid_value_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EGOV_SECURITY_PROTOCOL", "TLS")
    with pytest.raises(ConfigurationError, match="EGOV_SECURITY_PROTOCOL"):
        load_settings()


def test_sasl_requires_credentials_and_hides_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError, match="sasl_mechanism"):
        load_settings(security_protocol="SASL_SSL")
    settings = load_settings(
        security_protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-512", sasl_username="u", sasl_password="s3cret"
    )
    assert "s3cret" not in repr(settings)
    assert settings.librdkafka_config()["sasl.password"] == "s3cret"
