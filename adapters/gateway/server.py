"""Running the gateway: settings -> publisher -> app -> uvicorn."""

from __future__ import annotations

import logging
from typing import Any

from adapters.gateway.app import GatewayConfig, create_app
from adapters.gateway.auth import ApiKeyStore
from adapters.gateway.ratelimit import RateLimiter
from adapters.privacy import Pseudonymizer
from adapters.sdk import Publisher
from schemas import EVENT_TYPES

log = logging.getLogger("egov.adapters.gateway")


def build_gateway(settings: Any, config: GatewayConfig | None = None, *, keys: ApiKeyStore | None = None,
                  publisher: Publisher | None = None, **publisher_options: Any):
    """``(app, publisher)``: checks keys and the pseudonym key first, so a misconfigured
    gateway refuses to start instead of failing its first requests."""
    keys = keys or ApiKeyStore.from_settings(settings)
    # Person events arrive with raw NIKs: without a key the gateway must not run at all.
    pseudonymizer = Pseudonymizer.from_settings(settings, purpose="the gateway (it accepts NIKs)")
    if publisher is None:
        publisher = Publisher(settings, source_system="gateway", component="gateway", confirm=True,
                              pseudonymizer=pseudonymizer, **publisher_options)
    try:
        publisher.warm(EVENT_TYPES.values())
        # On the way out: flush, try the spool for a moment, keep the rest on disk.
        app = create_app(publisher, keys, config, on_shutdown=lambda: publisher.close(drain_timeout=5),
                         limiter=RateLimiter.from_settings(settings))
    except BaseException:
        publisher.close(timeout=5)
        raise
    return app, publisher


def serve(settings: Any, host: str = "127.0.0.1", port: int = 8080, config: GatewayConfig | None = None,
          log_level: str = "info") -> None:
    """Run the gateway until SIGTERM/SIGINT; flushes and keeps the spool on the way out."""
    import uvicorn

    app, _publisher = build_gateway(settings, config)
    uvicorn.run(app, host=host, port=port, log_level=log_level, proxy_headers=False)
