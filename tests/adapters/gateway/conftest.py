"""A gateway app around a real publisher, on the catalogue's theme topics."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from adapters.gateway import ApiKeyStore, GatewayConfig, build_gateway, hash_api_key, new_api_key

MAX_BODY = 64 * 1024


@dataclass
class Gateway:
    client: TestClient
    key: str  # for region 32.01
    other_key: str  # for region 33
    publisher: Any

    def post(self, path: str, body: Any = None, *, key: str | None = "default", **kwargs: Any):
        headers = dict(kwargs.pop("headers", {}))
        if key == "default":
            key = self.key
        if key is not None:
            headers["X-API-Key"] = key
        return self.client.post(path, json=body, headers=headers, **kwargs)


@pytest.fixture
def gateway(adapter_settings, theme_topics) -> Iterator[Gateway]:
    key, other = new_api_key(), new_api_key()
    keys = ApiKeyStore([(hash_api_key(key), "32.01", "bogor"), (hash_api_key(other), "33", "jateng")])
    app, publisher = build_gateway(adapter_settings, GatewayConfig(max_body_bytes=MAX_BODY, max_batch_events=50),
                                   keys=keys)
    with TestClient(app) as client:
        yield Gateway(client, key, other, publisher)
    assert publisher.closed  # the server's shutdown closes (flushes) its publisher
