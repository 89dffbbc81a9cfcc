"""``egov-bus dashboard``: the views API and the live dashboard page, served by uvicorn; ``dashboard token`` mints access tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

dashboard_app = typer.Typer(no_args_is_help=False, invoke_without_command=True)


@dashboard_app.callback(invoke_without_command=True)
def dashboard(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8088,
    prefix: Annotated[Optional[str], typer.Option(help="Topic-name prefix of the view topics (tests)")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level: critical, error, warning, info, debug")] = "warning",
    public: Annotated[
        bool,
        typer.Option("--public", help="Serve every row to anybody, without tokens (open-data deployments)"),
    ] = False,
) -> None:
    """Serve the views API (/views) and the live dashboard (/) from the compacted view topics.

    Readers need a bearer token from EGOV_VIEWS_API_TOKENS_FILE (mint one with
    `egov-bus dashboard token`), unless --public.
    """
    if ctx.invoked_subcommand is not None:
        return
    import signal
    from collections import Counter

    import uvicorn

    from bus.kafka.connectivity import check_connection, outages
    from bus.serde import check_registry
    from bus.settings import load_settings
    from processors.api.access import TokenStore
    from processors.api.app import build_app

    settings = load_settings()
    # The tokens are checked here, before anything listens: a bad file stops the start with its entry named.
    app_ = build_app(settings, prefix=prefix, public=public)
    check_connection(settings)
    check_registry(settings)
    outages.enable()  # from here on a lost broker is logged once, and its return once
    base = f"http://{host}:{port}"
    typer.echo(f"dashboard: {base}/   views API: {base}/views   health: {base}/healthz", err=False)
    if public:
        ignored = " (EGOV_VIEWS_API_TOKENS_FILE is ignored)" if settings.views_api_tokens_file else ""
        typer.echo(f"dashboard: serving WITHOUT access control (--public): every row is readable by anyone{ignored}")
    else:
        tokens: TokenStore = app_.state.tokens
        scopes = Counter(t.scope for t in tokens.tokens())
        summary = ", ".join(f"{n} {scope}" for scope, n in sorted(scopes.items()))
        typer.echo(f"dashboard: bearer tokens required: {len(tokens)} from {settings.views_api_tokens_file} ({summary})")
    # uvicorn shuts down gracefully on SIGTERM/SIGINT (the app's lifespan stops the view store's
    # consumer), then re-raises the signal with the handler that was there before it started: a
    # no-op here, so a requested stop exits 0 instead of "killed by SIGTERM".
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    uvicorn.run(app_, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=10)
    typer.echo("dashboard stopped")


@dashboard_app.command("token")
def token(
    scope: Annotated[str, typer.Option(help="nation (every row) or province:<code>, e.g. province:32")],
    name: Annotated[str, typer.Option(help="Who the token is for, e.g. bappeda-jabar (shown in 403 answers)")],
    file: Annotated[
        Optional[Path],
        typer.Option(help="Tokens file to append the hash to (created 0600); default EGOV_VIEWS_API_TOKENS_FILE"),
    ] = None,
) -> None:
    """Mint a bearer token: prints it once (stdout) and appends its hash to the tokens file."""
    from bus.errors import ConfigurationError
    from bus.settings import load_settings
    from processors.api.access import mint_token

    path = file or (Path(p) if (p := load_settings().views_api_tokens_file) else None)
    if path is None:
        raise ConfigurationError("no tokens file: pass --file <tokens.yaml> or set EGOV_VIEWS_API_TOKENS_FILE")
    secret, owner = mint_token(path, name, scope)
    # The token alone on stdout, so that a script can capture it; the explanation on stderr.
    typer.echo(f"views API token for {owner.name} ({owner.scope}), hash added to {path}; "
               "give it to its holder, it is not stored anywhere and is shown only now:", err=True)
    typer.echo(secret)


def register(app: typer.Typer) -> None:
    """Add ``dashboard`` (serve) and ``dashboard token`` (mint an access token) to the ``egov-bus`` CLI."""
    app.add_typer(dashboard_app, name="dashboard")
