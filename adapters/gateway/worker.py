"""One worker process of ``egov-bus gateway --workers N`` (started by :mod:`adapters.gateway.supervisor`).

``python -m adapters.gateway.worker --slot I --fd F --parent P`` with the pickled
``{"settings", "config", "log_level"}`` on standard input: serves the gateway with uvicorn on
the listening socket ``F`` it inherited, with the spool of its slot (``gateway-<I>.sqlite``),
until SIGTERM (graceful: stop accepting, answer what is in flight, flush, keep the spool) or
until its supervisor ``P`` is gone.
"""

from __future__ import annotations

import argparse
import logging
import os
import pickle
import socket
import sys
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from adapters.gateway.server import COMPONENT, build_gateway
from adapters.metrics import multiprocess_dir, record_spool_gauges
from bus.errors import EgovBusError

log = logging.getLogger("egov.adapters.gateway.worker")

#: Response header naming the worker slot that answered (load tests and operators see the spread).
WORKER_HEADER = "x-egov-gateway-worker"

#: How often a worker checks that its supervisor lives and refreshes its spool gauges.
_WATCH_INTERVAL_S = 1.0

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]


def spool_component(slot: int) -> str:
    """The publisher component (hence spool file ``<spool_dir>/<component>.sqlite``) of a slot."""
    return f"{COMPONENT}-{slot}"


class WorkerHeader:
    """ASGI wrapper adding ``X-Egov-Gateway-Worker: <slot>`` to every HTTP answer.

    Plain ASGI rather than a Starlette ``BaseHTTPMiddleware``: it costs one dict copy per
    response, not a task and a stream per request on the ingest hot path.
    """

    def __init__(self, app: ASGIApp, slot: int) -> None:
        self.app = app
        self._header = (WORKER_HEADER.encode(), str(slot).encode())

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]],
                       send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] != "http":  # lifespan: straight through
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), self._header]}
            await send(message)

        await self.app(scope, receive, send_with_header)


def _watch(server: Any, parent: int, done: threading.Event) -> None:
    # A worker outliving its supervisor (kill -9 of the supervisor) would hold the port and its
    # spool with nobody to restart or stop it: it stops itself, gracefully, like on SIGTERM.
    while not done.wait(_WATCH_INTERVAL_S):
        if multiprocess_dir() is not None:
            record_spool_gauges()
        if os.getppid() != parent:
            log.warning("gateway worker %d: supervisor %d is gone; stopping", os.getpid(), parent)
            server.should_exit = True
            return


def run_worker(slot: int, sock: socket.socket, spec: dict[str, Any], parent: int) -> None:
    """Serve the gateway on ``sock`` (already listening) as worker ``slot`` until told to stop."""
    import uvicorn

    app, _publisher = build_gateway(spec["settings"], spec.get("config"), component=spool_component(slot))
    config = uvicorn.Config(WorkerHeader(app, slot), log_level=spec.get("log_level", "info"),
                            proxy_headers=False, lifespan="on")
    server = uvicorn.Server(config)
    done = threading.Event()
    watcher = threading.Thread(target=_watch, args=(server, parent, done), name="egov-gateway-watch", daemon=True)
    watcher.start()
    log.info("gateway worker slot %d (pid %d) serving, spool %s", slot, os.getpid(), spool_component(slot))
    try:
        server.run(sockets=[sock])
    finally:
        done.set()


def main(argv: list[str] | None = None) -> None:
    """Entry point of a worker process (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="egov-bus gateway worker")
    parser.add_argument("--slot", type=int, required=True)
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--parent", type=int, required=True)
    args = parser.parse_args(argv)
    # Our own supervisor wrote it to our standard input: trusted, and keeps secrets out of argv.
    spec = pickle.load(sys.stdin.buffer)
    level = str(spec.get("log_level", "info")).upper()
    logging.basicConfig(level=getattr(logging, level, logging.INFO),
                        format=f"%(asctime)s %(levelname)s %(name)s[slot {args.slot}]: %(message)s")
    sock = socket.socket(fileno=args.fd)
    try:
        run_worker(args.slot, sock, spec, args.parent)
    except EgovBusError as exc:
        # Expected failures (registry or keys): one line, the supervisor restarts us with backoff.
        log.error("gateway worker slot %d cannot serve: %s", args.slot, exc)
        sys.exit(1)


if __name__ == "__main__":
    main()
