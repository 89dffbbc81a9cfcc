"""The stream loop as a Faust (mode) service: Faust runs the worker, the loop runs the data path.

Faust owns the process: start-up and shutdown order, signals (SIGTERM and
Ctrl-C stop the worker cleanly), logging, timers and the CLI. The data path
is :class:`~processors.stream.StreamLoop` on confluent-kafka, in a thread of
its own, because every librdkafka call blocks (and releases the GIL); the
service starts it, stops it (the loop commits its last interval and leaves
the group), and crashes the app when the loop dies, so that the process exits
non-zero and its supervisor restarts it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from mode import Service

from bus.errors import EgovBusError

from processors.stream import StreamLoop

log = logging.getLogger("egov.processors.service")

#: How long a stopping worker waits for its loop to commit and leave the group.
STOP_TIMEOUT_S = 30.0


def stream_service(app: Any, stream: StreamLoop) -> type[Service]:
    """A :class:`mode.Service` class (for ``app.service``) that runs ``stream``."""

    class StreamService(Service):
        """Runs the consume–transform–produce loop in its own thread."""

        def __post_init__(self) -> None:
            self.stream = stream
            self._stop_loop = threading.Event()
            self._thread: threading.Thread | None = None
            self._error: BaseException | None = None
            self._finished = asyncio.Event()

        async def on_start(self) -> None:
            loop = asyncio.get_running_loop()

            def run() -> None:
                try:
                    self.stream.run(self._stop_loop)
                except BaseException as exc:  # reported to the app below
                    self._error = exc
                finally:
                    loop.call_soon_threadsafe(self._finished.set)

            self._thread = threading.Thread(target=run, name="egov-stream", daemon=True)
            self._thread.start()

        @Service.task
        async def _supervise(self) -> None:
            await self._finished.wait()
            if self._error is not None and not self._stop_loop.is_set():
                # A refusal explains itself in one line; anything else needs its traceback.
                known = isinstance(self._error, EgovBusError)
                log.error("the stream loop died: %s", self._error, exc_info=None if known else self._error)
                await app.crash(self._error)

        async def on_stop(self) -> None:
            self._stop_loop.set()
            if self._thread is not None:
                await asyncio.to_thread(self._thread.join, STOP_TIMEOUT_S)

    return StreamService
