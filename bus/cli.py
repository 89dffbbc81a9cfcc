"""The ``egov-bus`` command line.

The root app only wires command groups together. Each package contributes
its commands through the ``egov_bus.commands`` entry-point group (see
pyproject.toml), so that ``bus`` never imports ``adapters`` or
``processors``. An entry point may name a Typer app (becomes a sub-group) or
a function ``register(app)`` (adds top-level commands).
"""

from __future__ import annotations

import sys
from importlib.metadata import entry_points

import typer
from confluent_kafka import KafkaException
from rich.console import Console
from rich.markup import escape

from bus.errors import EgovBusError

err_console = Console(stderr=True)

app = typer.Typer(
    name="egov-bus",
    help="egov-bus: the integration bus for Indonesia's regional e-government systems.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _add_core_commands() -> None:
    from bus.status.cli import status

    app.command("status")(status)


_add_core_commands()


@app.callback()
def _root() -> None:
    """egov-bus: the integration bus for Indonesia's regional e-government systems.

    Connection settings come from EGOV_* environment variables or from
    .egov/dev.env (written by `egov-bus dev up`).
    """


def _load_plugins() -> None:
    for ep in sorted(entry_points(group="egov_bus.commands"), key=lambda e: e.name):
        try:
            target = ep.load()
        except Exception as exc:  # one broken plugin must not take the whole CLI down
            err_console.print(f"[yellow]warning:[/] command group {ep.name!r} ({ep.value}) failed to load: {exc}")
            continue
        if isinstance(target, typer.Typer):
            app.add_typer(target, name=ep.name)
        elif callable(target):
            target(app)


def _fail(exc: BaseException) -> None:
    # One line whatever the terminal's width (soft_wrap), and the message is text, not markup.
    err_console.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
    sys.exit(1)


def _explain_kafka(exc: KafkaException) -> EgovBusError:
    from bus.kafka.connectivity import explain
    from bus.settings import load_settings

    try:
        settings = load_settings()
    except EgovBusError:
        return EgovBusError(f"Kafka: {exc.args[0].str() if exc.args and hasattr(exc.args[0], 'str') else exc}")
    return explain(settings, exc)


def main() -> None:
    """Console entry point: run the CLI, turning egov-bus errors into exit code 1."""
    _load_plugins()
    try:
        # With standalone_mode=False click returns a command's exit code instead of exiting.
        rc = app(standalone_mode=False)
        if isinstance(rc, int) and rc != 0:
            sys.exit(rc)
    except EgovBusError as exc:
        _fail(exc)
    except KafkaException as exc:
        # A client call the command did not wrap: still one classified line, no traceback.
        _fail(_explain_kafka(exc))
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except Exception as exc:  # usage errors arrive here with standalone_mode=False
        # Typer vendors its own click; recognise its ClickException by shape.
        if hasattr(exc, "show") and isinstance(getattr(exc, "exit_code", None), int):
            exc.show()
            sys.exit(exc.exit_code)
        raise
