"""``egov-bus topics``: apply the topic catalogue and compare it with the cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from confluent_kafka.admin import AdminClient
from rich.console import Console
from rich.table import Table

from topics.catalog import Catalog, load_catalog
from topics.provision import apply as apply_catalog
from topics.provision import plan

app = typer.Typer(help="The topic catalogue: create topics, report and fix drift.", no_args_is_help=True)

CatalogOpt = Annotated[Optional[Path], typer.Option("--catalog", help="Catalogue file [default: the packaged topics/catalog.yaml]")]
PrefixOpt = Annotated[Optional[str], typer.Option("--prefix", help="Prefix every topic name with '<prefix>.' (staging, tests)")]
RfOpt = Annotated[
    Optional[int],
    typer.Option("--replication-factor", min=1, help="Override the catalogue's replication factor [default: $EGOV_TOPIC_REPLICATION_FACTOR or the catalogue]"),
]


def _setup(catalog_path: Path | None, prefix: str | None, replication_factor: int | None) -> tuple[AdminClient, Catalog, float]:
    from bus.kafka.connectivity import check_connection
    from bus.settings import load_settings

    settings = check_connection(load_settings())
    catalog = load_catalog(catalog_path, prefix=prefix)
    catalog = catalog.with_durability(replication_factor or settings.topic_replication_factor,
                                      settings.topic_min_insync_replicas)
    return AdminClient(settings.librdkafka_config()), catalog, settings.request_timeout_s


@app.command("apply")
def apply_cmd(
    fix: Annotated[bool, typer.Option("--fix", help="Also fix drift (configs, missing partitions)")] = False,
    catalog_path: CatalogOpt = None,
    prefix: PrefixOpt = None,
    replication_factor: RfOpt = None,
) -> None:
    """Create missing topics and report drift (fix it with --fix). Idempotent.

    Exit code 0 when the cluster matches the catalogue afterwards, 2 when drift is left.
    """
    console = Console()
    admin, catalog, timeout = _setup(catalog_path, prefix, replication_factor)
    report = apply_catalog(admin, catalog, fix=fix, timeout=timeout, progress=lambda m: console.print(f"[dim]{m}[/]"))
    for note in report.notes:
        console.print(f"[yellow]note:[/] {note}: the cluster has {report.brokers} broker{'s' if report.brokers != 1 else ''}")
    for name in report.created:
        console.print(f"[green]created[/] {name}")
    for d in report.fixed:
        console.print(f"[green]fixed[/] {d.topic}: {d.key} {d.actual} -> {d.wanted}")
    for d in report.drift:
        console.print(f"[red]drift[/] {d}")
    console.print(report.summary())
    if report.drift:
        fixable = [d for d in report.drift if d.fixable]
        if fixable and not fix:
            console.print(f"run with --fix to fix {len(fixable)} of them")
        raise typer.Exit(2)


@app.command("list")
def list_cmd(catalog_path: CatalogOpt = None, prefix: PrefixOpt = None, replication_factor: RfOpt = None) -> None:
    """Show the catalogue against the cluster."""
    console = Console()
    admin, catalog, timeout = _setup(catalog_path, prefix, replication_factor)
    current = plan(admin, catalog, timeout=timeout)
    table = Table("topic", "kind", "partitions", "replicas", "state", "event types", title=f"{len(catalog.topics)} topics, {current.brokers} broker(s)")
    for state in current.states:
        spec = state.spec
        rf, _, _ = spec.effective(current.brokers)
        if not state.exists:
            status, parts, reps = "[yellow]missing[/]", f"{spec.partitions}", f"{rf}"
        else:
            status = "[green]ok[/]" if not state.drift else "[red]drift: " + ", ".join(d.key for d in state.drift) + "[/]"
            parts = f"{state.partitions}" + ("" if state.partitions == spec.partitions else f" (want {spec.partitions})")
            reps = f"{state.replication_factor}" + ("" if state.replication_factor == rf else f" (want {rf})")
        events = ", ".join(spec.event_types) if spec.kind != "routed" else f"all {len(spec.event_types)}"
        table.add_row(spec.name, spec.kind, parts, reps, status, events)
    console.print(table)
    for note in current.notes:
        console.print(f"[yellow]note:[/] {note}")
