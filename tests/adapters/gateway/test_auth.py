"""Unit tests for the gateway's hashed API keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.gateway import ApiKeyConfigError, ApiKeyStore, hash_api_key, new_api_key
from bus.settings import load_settings
from schemas.regions import is_current_region


def test_keys_are_random_and_only_their_hash_is_stored(tmp_path: Path) -> None:
    key = new_api_key()
    assert key != new_api_key() and len(key) > 40
    stored = hash_api_key(key)
    assert stored.startswith("sha256:") and key not in stored
    store = ApiKeyStore([(stored, "32.01", "bogor")])
    assert store.authenticate(key).region_code == "32.01"
    assert store.authenticate(key + "x") is None
    assert store.authenticate(None) is None and store.authenticate("") is None


def test_a_plain_key_in_the_config_is_refused() -> None:
    with pytest.raises(ApiKeyConfigError, match="never the key itself"):
        ApiKeyStore([(new_api_key(), "32.01", "")])


def test_keys_from_a_yaml_file_and_from_the_environment(tmp_path: Path) -> None:
    k1, k2 = new_api_key(), new_api_key()
    path = tmp_path / "keys.yaml"
    path.write_text(f'keys:\n  - {{region_code: "32.01", name: sipd-bogor, hash: "{hash_api_key(k1)}"}}\n')
    settings = load_settings(env_file=None, gateway_api_keys_file=str(path), gateway_api_keys=f"33={hash_api_key(k2)}")
    store = ApiKeyStore.from_settings(settings)
    assert store.authenticate(k1).name == "sipd-bogor"
    assert store.authenticate(k2).region_code == "33"
    assert store.regions() == {"32.01", "33"}


def test_configuration_errors_are_explicit(tmp_path: Path) -> None:
    with pytest.raises(ApiKeyConfigError, match="no API keys"):
        ApiKeyStore.from_settings(load_settings(env_file=None))
    bad = tmp_path / "keys.yaml"
    bad.write_text("keys:\n  - {region_code: '32.01'}\n")
    with pytest.raises(ApiKeyConfigError, match=r"keys\[0\] needs"):
        ApiKeyStore.load_file(bad)
    with pytest.raises(ApiKeyConfigError, match="region_code=sha256"):
        ApiKeyStore.parse_inline("sha256:abc")
    store = ApiKeyStore([(hash_api_key("x"), "99.99", "")])
    with pytest.raises(ApiKeyConfigError, match="99.99"):
        store.check_regions(is_current_region)
