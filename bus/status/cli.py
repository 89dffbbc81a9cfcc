"""``egov-bus status``: one screen for operators (``--json`` for scripts); the exit code says what is down."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer


def status(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document (keys: docs/operations.md).")] = False,
    group: Annotated[Optional[list[str]], typer.Option(
        help="Also this consumer group's lag (the processors' group, EGOV_PROCESSOR_APP_ID, always).")] = None,
    spool_dir: Annotated[Optional[list[str]], typer.Option(
        help="Also the spools in this directory (EGOV_SPOOL_DIR always).")] = None,
    days: Annotated[int, typer.Option(min=1, help="Regions publishing: with an event in the last N days.")] = 7,
    prefix: Annotated[Optional[str], typer.Option(help="Topic-name prefix (as for topics apply)")] = None,
) -> None:
    """The bus's health: brokers, registry, consumer lag, DLQ depth, spools, views' last update, regions
    publishing. Exit code 0 when all is up, 2 Kafka down, 3 registry down, 4 a broker down."""
    from rich.console import Console
    from rich.markup import escape

    from bus.settings import load_settings
    from bus.status.collect import StatusOptions, collect
    from bus.status.render import render

    report = collect(load_settings(), StatusOptions(groups=tuple(group or ()), spool_dirs=tuple(spool_dir or ()),
                                                    days=days, prefix=prefix))
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2, sort_keys=True, ensure_ascii=False))
    else:
        Console(highlight=False).print(render(report))
    err = Console(stderr=True, soft_wrap=True, highlight=False)
    for line in report.problems():
        err.print(f"[bold red]down:[/] {escape(line)}")
    if report.exit_code:
        raise typer.Exit(report.exit_code)
