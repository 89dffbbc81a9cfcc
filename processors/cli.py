"""Commands of the central side: ``egov-bus process`` (and, later, dlq/views/tail)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer


def register(app: typer.Typer) -> None:
    """Add the processors' commands to the ``egov-bus`` CLI."""

    @app.command("process")
    def process(
        workers: Annotated[int, typer.Option(help="Worker processes to run in this consumer group")] = 1,
        topic_prefix: Annotated[Optional[str], typer.Option(help="Read prefixed theme topics (tests)")] = None,
        rules: Annotated[Optional[str], typer.Option(help="Routing rules file [default: processors/routes.yaml]")] = None,
        log_level: Annotated[str, typer.Option(help="crit, error, warn, info, debug")] = "info",
    ) -> None:
        """Run the stream processors (router, transformer, aggregators, views) on faust-streaming."""
        if workers > 1:
            import os
            import subprocess
            import sys

            argv = [sys.argv[0], "process", "--workers", "1", "--log-level", log_level]
            if topic_prefix:
                argv += ["--topic-prefix", topic_prefix]
            if rules:
                argv += ["--rules", rules]
            children = [subprocess.Popen(argv, env={**os.environ}) for _ in range(workers)]
            try:
                codes = [child.wait() for child in children]
            except KeyboardInterrupt:
                for child in children:
                    child.terminate()
                codes = [child.wait(timeout=30) for child in children]
            raise typer.Exit(max(codes))

        import faust
        from prometheus_client import start_http_server

        from bus.settings import load_settings
        from processors.app import build_app

        settings = load_settings()
        if settings.metrics_port is not None:
            start_http_server(settings.metrics_port, addr="0.0.0.0")
        faust_app = build_app(settings, topic_prefix=topic_prefix, rules_path=rules)
        worker = faust.Worker(faust_app, loglevel=log_level, quiet=True)
        worker.execute_from_commandline()
