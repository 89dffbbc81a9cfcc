"""Developer tooling of egov-bus: the local stack and the pinned deploy-check tools.

Not part of the runtime: this is its own distribution (``egov-bus-devtools``,
``devtools/pyproject.toml``), installed by ``make`` next to ``egov-bus`` but
never into a production image. Nothing under ``bus``, ``topics``, ``schemas``,
``adapters`` or ``processors`` imports it (an import-linter contract in the
root ``pyproject.toml``); it plugs ``egov-bus dev`` into the CLI by entry point.
"""
