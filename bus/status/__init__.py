"""``egov-bus status``: the bus's health on one screen, or as JSON for scripts.

:func:`collect` asks the cluster and the registry (brokers and controller, the
registry, consumer lag per group, DLQ depth per theme, each view's last update)
and the sections other packages contribute (:func:`add_section`: the regional
side's spools, the central side's regions publishing per theme), each when
their commands are plugged into the CLI, so that ``bus`` imports neither.
:mod:`bus.status.render` turns a :class:`StatusReport` into rich tables or
JSON; the exit code says what is down (:data:`EXIT_CODES`).
"""

from bus.status.collect import EXIT_CODES, Section, StatusOptions, StatusReport, add_section, collect, sections

__all__ = ["EXIT_CODES", "Section", "StatusOptions", "StatusReport", "add_section", "collect", "sections"]
