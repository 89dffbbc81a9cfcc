"""The ingest gateway as a real process on a fault test's prefixed theme topics.

``python -m tests.reliability.gateway_main --port P --topic-prefix X`` runs what ``egov-bus gateway``
runs (:func:`adapters.gateway.build_gateway`, uvicorn, one process, spool
``$EGOV_SPOOL_DIR/gateway.sqlite``) with its publisher writing to ``<X>.<topic>``, the test's own
catalogue; settings from the environment, as the command's. Stopped by SIGTERM (flushes, keeps the spool).
"""

from __future__ import annotations

import argparse
import logging

import uvicorn

from adapters.gateway import build_gateway
from bus.settings import load_settings
from schemas.topic_names import prefixed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--topic-prefix", required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    prefix = args.topic_prefix
    app, _publisher = build_gateway(load_settings(), topic_for=lambda et: prefixed(et.topic, prefix))
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", proxy_headers=False)


if __name__ == "__main__":
    main()
