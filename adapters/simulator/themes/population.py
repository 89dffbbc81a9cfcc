"""Population (SIAK): births, deaths and moves of synthetic residents (pseudonymized like real ones)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from adapters.simulator import catalog as C
from adapters.simulator.state import RegionState
from adapters.simulator.themes.base import ThemeEvent

if TYPE_CHECKING:
    from adapters.simulator.generator import EventGenerator


def generate(sim: EventGenerator, state: RegionState, now: datetime) -> ThemeEvent:
    """The next population event of the region: ``(event type name, fields)``."""
    rng = sim.rng
    roll = rng.random()
    if roll < 0.45:
        delay = rng.randint(0, 60)
        person = sim.person(state, now, 0, 0, birth=now.date() - timedelta(days=delay))
        return "BirthRegistered", {**sim.person_fields(person, now), "registration_delay_days": delay}
    if roll < 0.7:
        delay = rng.randint(0, 30)
        person = sim.person(state, now, 1, 95)
        return "DeathRegistered", {**sim.person_fields(person, now), "registration_delay_days": delay}
    person = sim.person(state, now, 17, 75)
    scope = rng.random()
    if scope < 0.5:
        destination = sim.choice(state.districts)
        move_type = C.MOVE_TYPES["same_district" if destination == person.district else "same_regency"]
    else:
        other = sim.region_state(sim.choice(sim.regions))
        destination = sim.choice(other.districts)
        same_province = destination[:2] == person.district[:2]
        move_type = C.MOVE_TYPES["same_province" if same_province else "other"]
        if destination[:5] == person.district[:5]:
            move_type = C.MOVE_TYPES["same_district" if destination == person.district else "same_regency"]
    return "ResidenceMoved", {
        **sim.person_fields(person, now), "destination_district_code": destination, "move_type": move_type,
        "family_members": rng.choice((0, 0, 1, 2, 3, 4)),
    }
