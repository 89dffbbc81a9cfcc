"""``egov-bus dev``: the local Kafka broker and schema registry."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from devtools.devstack.stack import DevStack

console = Console()
app = typer.Typer(help="Run a local Kafka broker and schema registry (no Docker needed).", no_args_is_help=True)

StateDir = Annotated[
    Optional[Path],
    # show_default as text: a "[default: ...]" inside help would be read as Rich markup and vanish.
    typer.Option("--state-dir", help="Where state, settings and logs go", show_default=".egov or $EGOV_STATE_DIR"),
]


@app.command()
def up(
    state_dir: StateDir = None,
    kafka_port: Annotated[Optional[int], typer.Option(help="Broker port", show_default="a free port")] = None,
    registry_port: Annotated[Optional[int], typer.Option(help="Registry port", show_default="a free port")] = None,
    secure: Annotated[bool, typer.Option("--secure", help="SASL_SSL (SCRAM-SHA-512) over TLS from a CA made for "
                                         "the stack, ACLs of topics/acls.yaml enforced; dev.env is the operator's "
                                         "(super user), principals/<user>.env each component's")] = False,
    brokers: Annotated[int, typer.Option("--brokers", help="Kafka nodes: 1, or 3 for a KRaft cluster whose topics "
                                         "get 3 replicas and min.insync.replicas=2 (written to dev.env)")] = 1,
    registry_storage: Annotated[Optional[str], typer.Option(
        "--registry-storage", help="Where the registry keeps schemas: kafkasql (a journal topic on the stack's "
        "brokers; ids survive a registry restart) or mem (gone with the process)",
        show_default="kafkasql; mem with --secure")] = None,
) -> None:
    """Start Kafka (KRaft: one node, or a 3-node cluster) and Apicurio Registry; harmless if already running."""
    stack = DevStack(state_dir)
    already = stack.is_up()
    info = stack.up(progress=lambda m: console.print(f"[dim]{m}[/]"), kafka_port=kafka_port,
                    registry_port=registry_port, secure=secure, brokers=brokers,
                    registry_storage=registry_storage)  # type: ignore[arg-type]
    console.print("already running" if already else "[green]started[/]")
    for key, value in info.env().items():
        console.print(f"{key}={value}")
    console.print(f"[dim]settings written to {stack.env_file}; logs in {stack.state_dir / 'logs'}[/]")
    if info.secure:
        console.print(f"[dim]{stack.env_file} is the operator's (super user); each component's settings are in "
                      f"{info.principals_dir}/<principal>.env (EGOV_ENV_FILE=...); enrol a region with "
                      f"`egov-bus users add --region 32.01 --env-file FILE`[/]")


@app.command()
def status(state_dir: StateDir = None) -> None:
    """Say what runs where."""
    stack = DevStack(state_dir)
    info = stack.info()
    states = stack.status()
    if info is None or not any(states.values()):
        console.print("nothing runs (no local stack in " + str(stack.state_dir) + ")")
        return
    table = Table("service", "pid", "state", "address", "log")
    addresses = {"kafka": info.bootstrap_servers,
                 "registry": f"{info.schema_registry_url} (storage: {info.registry_storage})"}
    for node in info.nodes:
        addresses[f"kafka-{node['node_id']}"] = (f"127.0.0.1:{node['port']} "
                                                 f"(node {node['node_id']}, controller :{node['controller_port']})")
    for name, record in info.processes.items():
        table.add_row(
            name,
            str(record.pid),
            "[green]running[/]" if states.get(name) else "[red]stopped[/]",
            addresses.get(name, ""),
            record.log,
        )
    console.print(table)
    if info.brokers > 1:
        console.print(f"cluster: {info.brokers} KRaft nodes (broker+controller each); topics get "
                      f"{info.topic_replication_factor} replicas, min.insync.replicas={info.topic_min_insync_replicas}")
    if info.secure:
        console.print(f"security: SASL_SSL, SCRAM-SHA-512, ACLs enforced; CA {info.ca_location}; "
                      f"principals' settings in {info.principals_dir}")


@app.command()
def down(state_dir: StateDir = None) -> None:
    """Stop exactly the processes `dev up` started (by PID)."""
    stack = DevStack(state_dir)
    stopped = stack.down()
    console.print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


@app.command("env")
def env(state_dir: StateDir = None) -> None:
    """Print `export` lines for the running stack (eval \"$(egov-bus dev env)\")."""
    stack = DevStack(state_dir)
    info = stack.info()
    if info is None:
        # On stderr: `eval "$(egov-bus dev env)"` must not evaluate the message.
        typer.echo(f"error: no local stack in {stack.state_dir} — start one with egov-bus dev up", err=True)
        raise typer.Exit(1)
    for key, value in info.env().items():
        typer.echo(f"export {key}={value}")


@app.command()
def smoke(env_file: Annotated[Optional[Path], typer.Option(help="Settings file", show_default=".egov/dev.env")] = None) -> None:
    """Publish a few sample events to the running stack and read them back."""
    from devtools.devstack.smoke import SAMPLES, run_smoke
    from bus.settings import load_settings

    got = run_smoke(load_settings(env_file=env_file), say=console.print)
    if got != len(SAMPLES):
        console.print(f"[red]read back {got} of {len(SAMPLES)} sample events[/]")
        raise typer.Exit(1)
    console.print(f"[green]all {got} sample events read back intact[/]")
