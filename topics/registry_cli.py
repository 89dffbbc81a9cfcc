"""``egov-bus schemas``: register the event schemas and check the working tree against the registry."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from topics.catalog import load_catalog
from topics.registry import COMPATIBILITY, check, desired_subjects, register

app = typer.Typer(help="Event schemas in the schema registry (TopicRecordNameStrategy, BACKWARD).", no_args_is_help=True)

PrefixOpt = Annotated[Optional[str], typer.Option("--prefix", help="Topic-name prefix, as for `egov-bus topics apply --prefix`")]
AvroDirOpt = Annotated[
    Optional[Path], typer.Option("--avro-dir", help="Schema tree to use [default: the packaged schemas/avro]", exists=True, file_okay=False)
]
SubjectOpt = Annotated[Optional[list[str]], typer.Option("--event", "-e", help="Only these event types (repeatable)")]


def _subjects(prefix: str | None, avro_dir: Path | None, events: list[str] | None):
    subjects = desired_subjects(load_catalog(prefix=prefix), avro_dir)
    if events:
        unknown = sorted(set(events) - {s.event_type for s in subjects})
        if unknown:
            raise typer.BadParameter(f"unknown event types: {', '.join(unknown)}", param_hint="--event")
        subjects = [s for s in subjects if s.event_type in events]
    return subjects


def _client():
    from bus.serde import make_registry_client
    from bus.settings import load_settings

    return make_registry_client(load_settings())


@app.command("register")
def register_cmd(prefix: PrefixOpt = None, avro_dir: AvroDirOpt = None, event: SubjectOpt = None) -> None:
    """Register every event schema under <topic>-<record name> with BACKWARD compatibility.

    Checks all subjects first; registers nothing if any is incompatible (exit 1). Idempotent.
    """
    console = Console()
    done = register(_client(), _subjects(prefix, avro_dir, event), progress=lambda m: console.print(f"[dim]{m}[/]"))
    new = [r for r in done if r.status == "registered"]
    for r in new:
        console.print(f"[green]registered[/] {r.subject} (id {r.schema_id})")
    console.print(
        f"{len(new)} registered, {len(done) - len(new)} unchanged; compatibility {COMPATIBILITY} on all {len(done)} subjects"
    )


@app.command("check")
def check_cmd(prefix: PrefixOpt = None, avro_dir: AvroDirOpt = None, event: SubjectOpt = None) -> None:
    """Compare the working tree with the registry; exit 1 naming each subject and incompatible change."""
    console = Console()
    results = check(_client(), _subjects(prefix, avro_dir, event))
    table = Table("subject", "status", "registered", "changes")
    colours = {"new": "cyan", "unchanged": "green", "compatible": "green", "incompatible": "red"}
    for r in results:
        detail = "; ".join(r.problems) if r.problems else "; ".join(str(c) for c in r.changes)
        table.add_row(r.subject, f"[{colours[r.status]}]{r.status}[/]", str(r.registered_version or "-"), detail)
    console.print(table)
    bad = [r for r in results if not r.ok]
    for r in bad:
        for p in r.problems:
            console.print(f"[red]incompatible[/] {r.subject}: {p}")
    counts = {s: sum(r.status == s for r in results) for s in colours}
    console.print(", ".join(f"{n} {s}" for s, n in counts.items()))
    if bad:
        raise typer.Exit(1)
