"""Commands of the central side: ``egov-bus process`` (and, later, dlq/views/tail)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer


dlq_app = typer.Typer(help="Inspect and replay dead letters (egov.<theme>.dlq).", no_args_is_help=True)


@dlq_app.command("inspect")
def dlq_inspect(
    theme: Annotated[str, typer.Argument(help="Theme, e.g. complaints")],
    stage: Annotated[Optional[str], typer.Option(help="Only this stage (decode, validate, transform, ...)")] = None,
    limit: Annotated[int, typer.Option(help="Show at most this many")] = 50,
    prefix: Annotated[Optional[str], typer.Option(help="Topic-name prefix (as for topics apply)")] = None,
) -> None:
    """Show the dead letters of a theme readably."""
    from rich.console import Console
    from rich.table import Table

    from bus.kafka.connectivity import check_connection
    from bus.settings import load_settings
    from processors.dlq_tools import read_dead_letters
    from schemas.topic_names import dlq_topic

    table = Table("partition:offset", "key", "stage", "error", "message", "original")
    shown = 0
    topic = dlq_topic(theme, prefix)
    for letter in read_dead_letters(check_connection(load_settings()), topic):
        if stage and letter.header("error.stage") != stage:
            continue
        shown += 1
        if shown <= limit:
            table.add_row(
                f"{letter.partition}:{letter.offset}",
                letter.key or "",
                letter.header("error.stage"),
                letter.header("error.class"),
                letter.header("error.message")[:200],
                f"{letter.header('original.topic')}[{letter.header('original.partition')}]@{letter.header('original.offset')}",
            )
    Console().print(table)
    Console().print(f"{shown} dead letter(s) in {topic}" + (f" at stage {stage}" if stage else ""))


@dlq_app.command("replay")
def dlq_replay(
    theme: Annotated[str, typer.Argument(help="Theme, e.g. complaints")],
    stage: Annotated[Optional[str], typer.Option(help="Only this stage")] = None,
    error_class: Annotated[Optional[str], typer.Option(help="Only this error class")] = None,
    dry_run: Annotated[bool, typer.Option(help="Count, do not send")] = False,
    prefix: Annotated[Optional[str], typer.Option(help="Topic-name prefix (as for topics apply)")] = None,
) -> None:
    """Send dead letters back to their original topic (after a fix); duplicates are harmless."""
    from bus.kafka.connectivity import check_connection
    from bus.settings import load_settings
    from processors.dlq_tools import read_dead_letters, replay
    from schemas.topic_names import dlq_topic

    settings = check_connection(load_settings())
    letters = [
        letter
        for letter in read_dead_letters(settings, dlq_topic(theme, prefix))
        if (not stage or letter.header("error.stage") == stage)
        and (not error_class or letter.header("error.class") == error_class)
    ]
    if dry_run:
        typer.echo(f"would replay {len(letters)} dead letter(s)")
        return
    typer.echo(f"replayed {replay(settings, letters)} dead letter(s) to their original topics")


def register(app: typer.Typer) -> None:
    """Add the processors' commands to the ``egov-bus`` CLI (and regions publishing to ``egov-bus status``)."""
    from bus.status import add_section
    from processors.status import SECTION

    add_section(SECTION)

    app.add_typer(dlq_app, name="dlq")
    from processors.audit.cli import audit_app

    app.add_typer(audit_app, name="audit")
    from processors.api.cli import register as register_api

    register_api(app)

    @app.command("views")
    def views(
        name: Annotated[str, typer.Argument(help="integration_index, budget_absorption, complaint_service_level, licensing_throughput")],
        province: Annotated[Optional[str], typer.Option(help="Only this province code, e.g. 32")] = None,
        region: Annotated[Optional[str], typer.Option(help="Only this region code, e.g. 32.01")] = None,
        theme: Annotated[Optional[str], typer.Option(help="Only this theme (integration_index)")] = None,
        limit: Annotated[int, typer.Option(help="Rows to print at most")] = 50,
        prefix: Annotated[Optional[str], typer.Option(help="Topic-name prefix")] = None,
    ) -> None:
        """Print a central view as a table (read from its compacted topic)."""
        import sys

        from rich.console import Console

        from bus.kafka.connectivity import check_connection
        from bus.serde import check_registry
        from bus.settings import load_settings
        from processors.views.display import view_table
        from processors.views.read import load_view

        rows = load_view(check_registry(check_connection(load_settings())), name, prefix=prefix, province=province, region=region, theme=theme)
        # Not cropped to 80 columns when piped (the demo, a log): a terminal keeps its own width.
        out = Console(highlight=False) if sys.stdout.isatty() else Console(highlight=False, width=200)
        out.print(view_table(rows, limit=limit, title=f"{name}: {len(rows)} row(s)"
                             + (f", showing {limit}" if len(rows) > limit else "")))

    @app.command("process")
    def process(
        workers: Annotated[int, typer.Option(help="Worker processes to run in this consumer group")] = 1,
        topic_prefix: Annotated[Optional[str], typer.Option(help="Read prefixed theme topics (tests)")] = None,
        rules: Annotated[Optional[str], typer.Option(help="Routing rules file [default: processors/routes.yaml]")] = None,
        log_level: Annotated[str, typer.Option(help="crit, error, warn, info, debug")] = "info",
    ) -> None:
        """Run the stream processors (router, transformer, aggregators, views): a faust-streaming worker
        whose data path is confluent-kafka (exactly-once v2), with RocksDB state under EGOV_PROCESSOR_DATA_DIR."""
        if workers > 1:
            import os
            import subprocess
            import sys

            from pathlib import Path

            from bus.settings import load_settings

            argv = [sys.argv[0], "process", "--workers", "1", "--log-level", log_level]
            if topic_prefix:
                argv += ["--topic-prefix", topic_prefix]
            if rules:
                argv += ["--rules", rules]
            base = Path(load_settings().processor_data_dir)
            # Each worker has its own state directory (RocksDB, process id): they are separate members.
            children = [
                subprocess.Popen(argv, env={**os.environ, "EGOV_PROCESSOR_DATA_DIR": str(base / f"worker-{i}")})
                for i in range(workers)
            ]
            import signal

            def forward(signum: int, _frame: object) -> None:
                # SIGTERM (Kubernetes, systemd, bench) or Ctrl-C: every worker stops cleanly.
                for child in children:
                    if child.poll() is None:
                        child.send_signal(signal.SIGTERM)

            signal.signal(signal.SIGTERM, forward)
            signal.signal(signal.SIGINT, forward)
            codes = [child.wait() for child in children]
            raise typer.Exit(max(codes))

        import faust
        from prometheus_client import start_http_server

        from bus.kafka.connectivity import check_connection
        from bus.serde import check_registry
        from bus.settings import load_settings
        from processors.app import build_app

        settings = check_registry(check_connection(load_settings()))
        if settings.metrics_port is not None:
            start_http_server(settings.metrics_port, addr="0.0.0.0")
        faust_app = build_app(settings, topic_prefix=topic_prefix, rules_path=rules)
        worker = faust.Worker(faust_app, loglevel=log_level, quiet=True)
        # Faust's terminal spinner sets the root logger to DEBUG whatever --log-level says,
        # so every library log call would build a debug record (~7% of a worker's CPU, measured by py-spy).
        worker.spinner = None
        worker.execute_from_commandline()
