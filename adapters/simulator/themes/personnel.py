"""Personnel (SIASN): appointments, transfers and retirements of the region's synthetic employees."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from adapters.simulator import catalog as C
from adapters.simulator.state import RegionState
from adapters.simulator.themes.base import ThemeEvent

if TYPE_CHECKING:
    from adapters.simulator.generator import EventGenerator


def generate(sim: EventGenerator, state: RegionState, now: datetime) -> ThemeEvent:
    """The next personnel event of the region: ``(event type name, fields)``."""
    rng = sim.rng
    if state.employees and rng.random() < 0.35:
        if rng.random() < 0.6:
            person = sim.choice(state.employees)
            agencies = rng.sample(C.AGENCIES, 2)
            return "EmployeeTransferred", {
                "nik_pseudonym": sim.person_fields(person, now)["nik_pseudonym"],
                "from_agency_code": agencies[0][0], "to_agency_code": agencies[1][0], "to_region_code": None,
                "position_title": sim.choice(C.POSITIONS), "effective_on": now.date(),
            }
        person = state.employees.pop(rng.randrange(len(state.employees)))
        return "EmployeeRetired", {
            **sim.person_fields(person, now), "agency_code": sim.choice(C.AGENCIES)[0],
            "retirement_type": sim.choice(C.RETIREMENT_TYPES), "effective_on": now.date(),
        }
    person = sim.person(state, now, 22, 45)
    state.employees.append(person)
    pns = rng.random() < 0.6
    fields = sim.person_fields(person, now)
    fields.pop("district_code", None)
    return "EmployeeAppointed", {
        **fields, "agency_code": sim.choice(C.AGENCIES)[0], "employment_type": "PNS" if pns else "PPPK",
        "position_title": sim.choice(C.POSITIONS), "rank_grade": sim.choice(C.RANKS) if pns else None,
        "effective_on": now.date(),
    }
