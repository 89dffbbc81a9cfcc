"""Running the gateway: settings -> publisher -> app -> uvicorn (one process, or a supervisor of N)."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from adapters.gateway.app import GatewayConfig, create_app
from adapters.gateway.auth import ApiKeyStore
from adapters.gateway.ratelimit import RateLimiter
from adapters.privacy import Pseudonymizer
from adapters.sdk import Publisher
from schemas import EVENT_TYPES

log = logging.getLogger("egov.adapters.gateway")

#: The spool file of a single-process gateway is ``<spool_dir>/gateway.sqlite``; the workers of
#: ``--workers N`` use ``gateway-<slot>.sqlite`` (see :mod:`adapters.gateway.supervisor`).
COMPONENT = "gateway"


def gateway_config(settings: Any, config: GatewayConfig | None = None) -> GatewayConfig:
    """``config`` with what the caller left unset taken from settings (``EGOV_GATEWAY_*``)."""
    config = config or GatewayConfig()
    if config.max_in_flight is None:
        config = dataclasses.replace(config, max_in_flight=settings.gateway_max_in_flight)
    if config.ack_timeout_s is None:
        config = dataclasses.replace(config, ack_timeout_s=settings.gateway_ack_timeout_s)
    return config


def build_gateway(settings: Any, config: GatewayConfig | None = None, *, keys: ApiKeyStore | None = None,
                  publisher: Publisher | None = None, component: str = COMPONENT, **publisher_options: Any):
    """``(app, publisher)``: checks keys and the pseudonym key first, so a misconfigured
    gateway refuses to start instead of failing its first requests.

    ``component`` names the publisher's spool file (``<spool_dir>/<component>.sqlite``): one per
    process, because a spool file is locked by the process that opened it.
    """
    keys = keys or ApiKeyStore.from_settings(settings)
    config = gateway_config(settings, config)
    # Person events arrive with raw NIKs: without a key the gateway must not run at all.
    pseudonymizer = Pseudonymizer.from_settings(settings, purpose="the gateway (it accepts NIKs)")
    if publisher is None:
        publisher = Publisher(settings, source_system="gateway", component=component, confirm=True,
                              pseudonymizer=pseudonymizer, **publisher_options)
    try:
        publisher.warm(EVENT_TYPES.values())
        # On the way out: flush, try the spool for a moment, keep the rest on disk.
        app = create_app(publisher, keys, config, limiter=RateLimiter.from_settings(settings),
                         on_shutdown=lambda: publisher.close(drain_timeout=5))
    except BaseException:
        publisher.close(timeout=5)
        raise
    return app, publisher


def serve(settings: Any, host: str = "127.0.0.1", port: int = 8080, config: GatewayConfig | None = None,
          log_level: str = "info", workers: int = 1) -> None:
    """Run the gateway until SIGTERM/SIGINT; flushes and keeps the spool on the way out.

    ``workers=1`` is one process (spool ``gateway.sqlite``, restarts left to whoever runs it);
    more run :func:`adapters.gateway.supervisor.supervise`: that many worker processes on one
    listening socket, each with its own spool, a dead one restarted in its slot.
    """
    if workers > 1:
        from adapters.gateway.supervisor import supervise

        supervise(settings, host=host, port=port, config=config, log_level=log_level, workers=workers)
        return
    import uvicorn

    app, _publisher = build_gateway(settings, config)
    uvicorn.run(app, host=host, port=port, log_level=log_level, proxy_headers=False)
