"""The gateway's limits from settings: what a caller leaves unset comes from ``EGOV_GATEWAY_*``."""

from __future__ import annotations

from adapters.gateway.app import GatewayConfig
from adapters.gateway.server import gateway_config
from bus.settings import load_settings


def test_unset_limits_come_from_settings_and_the_ack_wait_is_below_the_delivery_timeout() -> None:
    settings = load_settings(env_file=None)
    config = gateway_config(settings)
    assert config.ack_timeout_s == 30.0 and config.max_in_flight == 10_000
    # An HTTP client gives up long before a record's delivery timeout (300 s).
    assert settings.delivery_timeout_s == 300.0 and config.ack_timeout_s < settings.delivery_timeout_s


def test_settings_and_an_explicit_config_win_in_that_order() -> None:
    settings = load_settings(env_file=None, gateway_ack_timeout_s=12, gateway_max_in_flight=50)
    assert (gateway_config(settings).ack_timeout_s, gateway_config(settings).max_in_flight) == (12, 50)
    explicit = gateway_config(settings, GatewayConfig(ack_timeout_s=3))
    assert (explicit.ack_timeout_s, explicit.max_in_flight) == (3, 50)
