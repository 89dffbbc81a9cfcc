"""``egov-bus`` commands of the regional side: gateway, gateway-key, import, outbox-relay, simulate.

Plugged into the root CLI by the ``egov_bus.commands`` entry point
``adapters = "adapters.cli:register"``.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bus.errors import EgovBusError

console = Console()
err_console = Console(stderr=True)


def _settings():
    from bus.kafka.connectivity import check_connection
    from bus.serde import check_registry
    from bus.settings import load_settings

    # A refused credential stops a publisher at once; an unreachable broker does not: the spool takes over.
    # The registry must answer: without it no event can be encoded, so none could be spooled either.
    return check_registry(check_connection(load_settings(), unreachable_ok=True))


def _logging(level: str) -> None:
    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def gateway(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8080, help="TCP port."),
    max_body_bytes: int = typer.Option(1 << 20, help="Requests with a larger body get 413."),
    max_batch_events: int = typer.Option(1000, help="Most events in one /v1/batch request."),
    workers: int = typer.Option(1, min=1, help="Processes serving the port, each with its own spool "
                                               "(gateway-<slot>.sqlite); a dead one is restarted."),
    log_level: str = typer.Option("info", help="debug, info, warning, error."),
) -> None:
    """Run the HTTP ingest gateway (OpenAPI at /docs).

    API keys come from EGOV_GATEWAY_API_KEYS_FILE or EGOV_GATEWAY_API_KEYS (hashes only, see
    `egov-bus gateway-key`); NIKs in requests are pseudonymized with EGOV_PSEUDONYM_KEY.
    """
    from adapters.gateway import GatewayConfig, serve

    _logging(log_level)
    serve(_settings(), host=host, port=port, log_level=log_level, workers=workers,
          config=GatewayConfig(max_body_bytes=max_body_bytes, max_batch_events=max_batch_events))


def gateway_key(
    region: str = typer.Option(..., "--region", help="Kemendagri code of the region the key is for, e.g. 32.01."),
    name: str = typer.Option("", help="A label for logs, e.g. the system's name."),
) -> None:
    """Create an API key for a region: prints the key (once) and the hash entry for the keys file."""
    from adapters.gateway import hash_api_key, new_api_key
    from schemas.regions import is_current_region

    if not is_current_region(region):
        raise EgovBusError(f"{region!r} is not a current Kemendagri region code")
    key = new_api_key()
    console.print(f"API key for region {region} (give it to the region; it is not stored anywhere):")
    console.print(f"  {key}", highlight=False, soft_wrap=True)
    console.print("Add to the gateway's keys file (EGOV_GATEWAY_API_KEYS_FILE):")
    console.print(f'  - {{region_code: "{region}", name: "{name or region}", hash: "{hash_api_key(key)}"}}',
                  highlight=False, soft_wrap=True)
    console.print(f"or to EGOV_GATEWAY_API_KEYS: {region}={hash_api_key(key)}", highlight=False, soft_wrap=True)


def import_file(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="CSV or JSONL file."),
    event_type: Optional[str] = typer.Option(None, "--event-type", "-t", help="Event type, e.g. BudgetAllocated."),
    mapping: Optional[Path] = typer.Option(None, "--mapping", "-m", exists=True, dir_okay=False,
                                           help="Column mapping YAML."),
    fmt: Optional[str] = typer.Option(None, "--format", help="csv or jsonl (default: from the extension)."),
    delimiter: Optional[str] = typer.Option(None, help="CSV delimiter (default: sniffed from the header)."),
    report: Optional[Path] = typer.Option(None, help="Error report path (default: FILE.errors.csv)."),
    region_code: Optional[str] = typer.Option(None, help="Region of rows without a region_code column."),
    source_system: Optional[str] = typer.Option(None, help="Source system of rows without that column."),
    batch_size: int = typer.Option(500, min=1, help="Events per confirmed batch."),
) -> None:
    """Import a CSV/JSONL file as events; bad rows go to an error report (exit code 2 if any)."""
    from adapters.importer import ColumnMapping, Importer, count_rows, detect_format
    from adapters.sdk import Publisher

    column_mapping = ColumnMapping.load(mapping) if mapping else ColumnMapping()
    name = event_type or column_mapping.event_type
    if not name:
        raise EgovBusError("which event type? pass --event-type or set event_type in the mapping")
    fmt = detect_format(file, fmt)
    total = count_rows(file, fmt, delimiter if fmt == "csv" else None)
    settings = _settings()
    publisher = Publisher(settings, source_system=source_system or "importer", component="importer")
    try:
        importer = Importer(publisher, name, column_mapping, region_code=region_code,
                            source_system=source_system, batch_size=batch_size)
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=err_console, transient=False) as progress:
            task = progress.add_task(f"importing {file.name}", total=total)
            result = importer.run(file, fmt=fmt, delimiter=delimiter, report_path=report,
                                  progress=lambda n: progress.advance(task, n))
        left = publisher.drain(30.0) if result.spooled else 0
    finally:
        publisher.close()
    console.print(f"{result.rows} rows: {result.published} published, {result.spooled} spooled, "
                  f"{result.failed} failed")
    if result.spooled:
        console.print(f"{left} spooled event(s) still waiting for the broker in {settings.spool_dir}; "
                      "the next import (or any publisher using that spool) sends them")
    if result.failed:
        err_console.print(f"[red]{result.failed} row(s) failed[/]; report: {result.report_path}")
        for error in result.errors[:5]:
            err_console.print(f"  row {error.row} (line {error.line}): {error.error}", highlight=False)
        # Not typer.Exit: the root CLI runs click in non-standalone mode, which swallows its code.
        sys.exit(2)


def outbox_relay(
    dsn: str = typer.Option(..., help="postgresql://user@host:port/db or sqlite:///path/to/app.db"),
    batch_size: int = typer.Option(500, min=1, help="Rows per batch."),
    poll_interval: float = typer.Option(1.0, min=0.01, help="Seconds between polls of an empty outbox."),
    exit_when_empty: bool = typer.Option(False, help="Stop once no row is pending (batch jobs, tests)."),
    create_table: bool = typer.Option(False, help="Create egov_outbox (the shipped DDL) if missing."),
    log_level: str = typer.Option("info", help="debug, info, warning, error."),
) -> None:
    """Relay the egov_outbox table of a regional database to the bus (at-least-once, in order)."""
    from adapters.outbox import OutboxRelay, open_outbox
    from adapters.sdk import Publisher

    _logging(log_level)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    source = open_outbox(dsn)
    try:
        if create_table:
            source.create_table()
        # No spool: the outbox table is the durable buffer, rows stay unsent until acknowledged.
        publisher = Publisher(_settings(), source_system="outbox", component="outbox", spool=None, confirm=True)
        try:
            relay = OutboxRelay(source, publisher, batch_size=batch_size, poll_interval_s=poll_interval)
            err_console.print(f"relaying {source.description} ({source.pending()} rows pending)")
            stats = relay.run(stop, exit_when_empty=exit_when_empty)
        finally:
            publisher.close(timeout=10)
    finally:
        source.close()
    console.print(f"outbox relay stopped: {stats.sent} sent, {stats.invalid} rejected as invalid, "
                  f"{stats.failed_attempts} failed attempts")


def simulate(
    rate: float = typer.Option(100.0, min=0.001, help="Events per second."),
    duration: float = typer.Option(10.0, min=0.001, help="Seconds to run (rate x duration events)."),
    regions: str = typer.Option("all", help="'all' or comma-separated region codes, e.g. 32,33.01."),
    themes: str = typer.Option("all", help="'all' or comma-separated themes, e.g. budgeting,treasury."),
    seed: int = typer.Option(1, help="Same seed (and --start) -> same events."),
    start: Optional[datetime] = typer.Option(None, formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S",
                                                            "%Y-%m-%d"],
                                             help="Simulated time of the first event (UTC if no offset; "
                                                  "default: now)."),
    topic_prefix: Optional[str] = typer.Option(None, help="Publish to prefixed theme topics (tests)."),
) -> None:
    """Publish realistic events of all 552 regions and 15 themes through the SDK."""
    from adapters.privacy import Pseudonymizer
    from adapters.sdk import Publisher
    from adapters.simulator import parse_regions, parse_themes, run_simulation
    from adapters.simulator.generator import PERSON_THEMES

    region_codes, theme_names = parse_regions(regions), parse_themes(themes)
    settings = _settings()
    pseudonymizer = (Pseudonymizer.from_settings(settings, purpose="simulating people")
                     if PERSON_THEMES & set(theme_names) else None)
    begin = (start or datetime.now(timezone.utc)).replace(microsecond=0)
    begin = begin if begin.tzinfo else begin.replace(tzinfo=timezone.utc)
    from schemas.topic_names import prefixed

    publisher = Publisher(settings, source_system="simulator", component="simulator",
                          topic_for=(lambda et: prefixed(et.topic, topic_prefix)) if topic_prefix else None)
    try:
        with Progress(TextColumn("[bold]simulating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=err_console) as progress:
            task = progress.add_task("simulate", total=max(1, round(rate * duration)))
            summary = run_simulation(publisher, seed=seed, rate=rate, duration_s=duration, regions=region_codes,
                                     themes=theme_names, start=begin, pseudonymizer=pseudonymizer,
                                     on_progress=lambda n: progress.advance(task, n))
    finally:
        publisher.close()
    console.print(f"simulated {summary.published} events in {summary.elapsed_s:.1f}s "
                  f"({summary.actual_rate:.0f}/s) from {len(summary.regions)} regions", highlight=False)
    table = Table()
    table.add_column("theme")
    table.add_column("events", justify="right")
    for theme, count in sorted(summary.by_theme.items()):
        table.add_row(theme, str(count))
    console.print(table)
    console.print(f"seed {seed}, start {summary.start.isoformat()} (rerun with --seed {seed} "
                  f"--start {summary.start.strftime('%Y-%m-%dT%H:%M:%S%z')} for the same events)", highlight=False)
    if summary.spooled_at_end:
        console.print(f"[yellow]{summary.spooled_at_end} events still spooled[/] (broker unreachable); "
                      "they are sent by the next run")


def register(app: typer.Typer) -> None:
    """Add the regional-side commands to the root ``egov-bus`` app (and the spools to ``egov-bus status``)."""
    from adapters.status import SECTION
    from bus.status import add_section

    add_section(SECTION)
    app.command("gateway")(gateway)
    app.command("gateway-key")(gateway_key)
    app.command("import")(import_file)
    app.command("outbox-relay")(outbox_relay)
    app.command("simulate")(simulate)
