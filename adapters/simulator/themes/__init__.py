"""One generator per theme, and the registry the simulator picks them from.

Adding a theme: a module here with ``generate(sim, state, now) -> (event type name, fields)``
and an entry in :data:`GENERATORS`; ``tests/adapters/simulator`` checks that every theme of
:data:`schemas.THEMES` has one.
"""

from __future__ import annotations

from collections.abc import Mapping

from adapters.simulator.themes import (
    accountability,
    appraisal,
    archives,
    assets,
    budgeting,
    complaints,
    licensing,
    opendata,
    oversight,
    personnel,
    planning,
    population,
    procurement,
    revenue,
    treasury,
)
from adapters.simulator.themes.base import ThemeEvent, ThemeGenerator

#: The generator of each theme, by theme name.
GENERATORS: Mapping[str, ThemeGenerator] = {
    "planning": planning.generate,
    "budgeting": budgeting.generate,
    "treasury": treasury.generate,
    "procurement": procurement.generate,
    "personnel": personnel.generate,
    "assets": assets.generate,
    "revenue": revenue.generate,
    "population": population.generate,
    "licensing": licensing.generate,
    "complaints": complaints.generate,
    "oversight": oversight.generate,
    "accountability": accountability.generate,
    "appraisal": appraisal.generate,
    "archives": archives.generate,
    "opendata": opendata.generate,
}

__all__ = ["GENERATORS", "ThemeEvent", "ThemeGenerator"]
