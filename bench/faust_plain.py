"""B2 baseline (b): a plain per-event Faust agent, run as its own process by ``bench/process.py``.

faust-streaming with its aiokafka transport, no tables, no batching: one
agent over the theme topics, ``async for event in stream.events()``, each
value decoded with the registry serde (``bus.serde.AvroDeserializer``, the
writer schemas warmed before the worker starts). When the ``BENCH_EVENTS``-th
event is decoded the agent writes ``{"first": t, "last": t, "events": n}``
(wall-clock seconds of the first and the last event) to ``BENCH_RESULT``;
the parent then stops this process by PID.

Environment: ``EGOV_BOOTSTRAP_SERVERS``, ``EGOV_SCHEMA_REGISTRY_URL``,
``BENCH_APP_ID`` (the consumer group), ``BENCH_TOPICS`` (comma-separated),
``BENCH_SCHEMA_IDS`` (comma-separated), ``BENCH_EVENTS``, ``BENCH_RESULT``.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import faust

from bus.serde import AvroDeserializer, make_registry_client
from bus.settings import load_settings


def main() -> None:
    settings = load_settings()
    decode = AvroDeserializer(make_registry_client(settings))
    decode.warm(int(i) for i in os.environ["BENCH_SCHEMA_IDS"].split(","))
    total = int(os.environ["BENCH_EVENTS"])
    result = Path(os.environ["BENCH_RESULT"])
    app = faust.App(
        os.environ["BENCH_APP_ID"],
        broker=f"kafka://{settings.bootstrap_servers}",
        store="memory://",
        web_enabled=False,
        consumer_auto_offset_reset="earliest",
        topic_replication_factor=1,
        datadir=tempfile.mkdtemp(prefix="egov-bench-faust-"),
    )
    source = app.topic(*os.environ["BENCH_TOPICS"].split(","), key_serializer="raw", value_serializer="raw")

    @app.agent(source)
    async def plain(stream):  # noqa: ANN001 - faust stream
        n = 0
        first = 0.0
        async for event in stream.events():
            decode(event.value, event.message.topic)
            n += 1
            if n == 1:
                first = time.time()
            if n == total:
                last = time.time()
                # Written aside, then renamed: the parent never reads a half-written file.
                tmp = result.with_suffix(".tmp")
                tmp.write_text(json.dumps({"first": first, "last": last, "events": n}))
                tmp.rename(result)

    sys.argv = [sys.argv[0], "worker"]
    faust.Worker(app, loglevel="warning", quiet=True).execute_from_commandline()


if __name__ == "__main__":
    main()
