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


def test_a_key_entry_may_set_its_own_rate_and_burst(tmp_path: Path) -> None:
    k1, k2 = new_api_key(), new_api_key()
    path = tmp_path / "keys.yaml"
    path.write_text(f'keys:\n  - {{region_code: "32.01", hash: "{hash_api_key(k1)}", rate: 50, burst: 100}}\n'
                    f'  - {{region_code: "33", hash: "{hash_api_key(k2)}"}}\n')
    store = ApiKeyStore.load_file(path)
    own, default = store.authenticate(k1), store.authenticate(k2)
    assert (own.rate, own.burst, own.key_id) == (50.0, 100, hash_api_key(k1))
    assert (default.rate, default.burst) == (None, None)
    json_path = tmp_path / "keys.json"
    json_path.write_text(f'{{"keys": [{{"region_code": "33", "hash": "{hash_api_key(k2)}", "rate": 0}}]}}')
    assert ApiKeyStore.load_file(json_path).authenticate(k2).rate == 0.0  # 0: unlimited


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ("rate: fast", "'rate' must be events per second, a number >= 0 (0: unlimited), got 'fast'"),
        ("rate: -1", "'rate' must be events per second, a number >= 0 (0: unlimited), got -1"),
        ("rate: true", "'rate' must be events per second, a number >= 0 (0: unlimited), got True"),
        ("rate: .inf", "'rate' must be events per second, a number >= 0 (0: unlimited), got inf"),
        ("burst: 0", "'burst' must be a whole number of events >= 1, got 0"),
        ("burst: 2.5", "'burst' must be a whole number of events >= 1, got 2.5"),
    ],
)
def test_a_bad_rate_or_burst_is_refused_naming_the_entry(tmp_path: Path, fields: str, message: str) -> None:
    path = tmp_path / "keys.yaml"
    path.write_text(f'keys:\n  - {{region_code: "33", hash: "{hash_api_key("a")}"}}\n'
                    f'  - {{region_code: "32.01", name: simda-bogor, hash: "{hash_api_key("b")}", {fields}}}\n')
    with pytest.raises(ApiKeyConfigError) as caught:
        ApiKeyStore.load_file(path)
    assert caught.value.message == f"API key file {path}: keys[1] (region '32.01', name 'simda-bogor'): {message}"
