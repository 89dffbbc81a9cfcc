"""``egov-bus dashboard``: the views API and the live dashboard page, served by uvicorn."""

from __future__ import annotations

from typing import Annotated, Optional

import typer


def register(app: typer.Typer) -> None:
    """Add ``dashboard`` to the ``egov-bus`` CLI."""

    @app.command("dashboard")
    def dashboard(
        host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="TCP port")] = 8088,
        prefix: Annotated[Optional[str], typer.Option(help="Topic-name prefix of the view topics (tests)")] = None,
        log_level: Annotated[str, typer.Option(help="uvicorn log level: critical, error, warning, info, debug")] = "warning",
    ) -> None:
        """Serve the views API (/views) and the live dashboard (/) from the compacted view topics."""
        import signal

        import uvicorn

        from bus.settings import load_settings
        from processors.api.app import build_app

        app_ = build_app(load_settings(), prefix=prefix)
        base = f"http://{host}:{port}"
        typer.echo(f"dashboard: {base}/   views API: {base}/views   health: {base}/healthz", err=False)
        # uvicorn shuts down gracefully on SIGTERM/SIGINT (the app's lifespan stops the view store's
        # consumer), then re-raises the signal with the handler that was there before it started: a
        # no-op here, so a requested stop exits 0 instead of "killed by SIGTERM".
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: None)
        uvicorn.run(app_, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=10)
        typer.echo("dashboard stopped")
