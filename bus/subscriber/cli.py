"""``egov-bus tail <theme>``: events of a theme, readably, one line each.

Registered through the ``egov_bus.commands`` entry point ``subscriber``
(pyproject.toml). ``tail`` reads with a throwaway consumer group and commits
nothing, so it never disturbs a real service's group.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Optional

import typer


def tail(
    theme: Annotated[str, typer.Argument(help="Theme, e.g. complaints (see THEMES.md)")],
    from_: Annotated[
        Optional[str],
        typer.Option(
            "--from",
            help="Start at records the bus received at or after TIME: ISO-8601 (UTC if no zone) "
            "or a duration back from now (30s, 10m, 2h, 1d). Default: the beginning of the topic.",
        ),
    ] = None,
    region: Annotated[
        Optional[str], typer.Option(help="Only this region and below: 32 (province and its kabupaten/kota) or 32.01")
    ] = None,
    event_type: Annotated[
        Optional[list[str]], typer.Option("--event-type", help="Only this event type (repeatable)")
    ] = None,
    limit: Annotated[Optional[int], typer.Option(help="Stop after printing this many events", min=1)] = None,
    follow: Annotated[bool, typer.Option("--follow/--no-follow", help="Keep waiting for new events (Ctrl-C stops)")] = False,
    prefix: Annotated[Optional[str], typer.Option(help="Topic-name prefix (as for topics apply)")] = None,
) -> None:
    """Print the events of a theme, one line each: time, region, event type, key fields.

    Without --follow it stops at the end the topic had when reading started.
    """
    import signal
    import threading

    from rich.console import Console

    from bus.kafka.connectivity import check_connection
    from bus.serde import check_registry
    from bus.settings import load_settings
    from bus.subscriber.render import event_line, undecodable_line
    from bus.subscriber.records import Undecodable
    from bus.subscriber.subscriber import Subscriber
    from bus.subscriber.timeparse import parse_time

    start = parse_time(from_) if from_ else None
    out = Console(soft_wrap=True, highlight=False)
    err = Console(stderr=True, soft_wrap=True, highlight=False)
    shown = 0
    sub = Subscriber(
        check_registry(check_connection(load_settings())),
        f"egov-bus-tail-{uuid.uuid4().hex}",
        [theme],
        topic_prefix=prefix,
        from_time=start,
        event_types=event_type,
        region_prefix=region,
        yield_undecodable=True,
        commit_offsets=False,
    )
    # Ctrl-C / SIGTERM set a flag the loop checks between polls, rather than raising
    # KeyboardInterrupt wherever it lands (possibly inside a rebalance callback, which
    # left the consumer's close() waiting on an unfinished rebalance).
    stopping = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stopping.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for item in sub.iter(until_end=not follow, stop=stopping.is_set):
            sub.done(item)
            if isinstance(item, Undecodable):
                out.print(undecodable_line(item))
                continue
            out.print(event_line(item))
            shown += 1
            if limit is not None and shown >= limit:
                break
    finally:
        sub.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    s = sub.stats
    err.print(
        f"{shown} event(s) shown from {', '.join(sub.topics)}"
        + (f", {s.filtered} passed over by filters" if s.filtered else "")
        + (f", {s.undecodable} undecodable" if s.undecodable else ""),
        style="dim",
    )


def register(app: typer.Typer) -> None:
    """Add ``tail`` to the ``egov-bus`` CLI."""
    app.command("tail")(tail)
