"""Appraisal (e-Kinerja): SKP targets of the region's employees and their completed appraisals."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from adapters.simulator import catalog as C
from adapters.simulator.state import RegionState
from adapters.simulator.themes.base import ThemeEvent

if TYPE_CHECKING:
    from adapters.simulator.generator import EventGenerator


def generate(sim: EventGenerator, state: RegionState, now: datetime) -> ThemeEvent:
    """The next appraisal event of the region: ``(event type name, fields)``."""
    rng = sim.rng
    skp = sim.take(state, "skp") if rng.random() < 0.4 else None
    if skp is not None:
        skp_id, person = skp
        return "AppraisalCompleted", {
            "skp_id": skp_id, "nik_pseudonym": sim.person_fields(person, now)["nik_pseudonym"],
            "fiscal_year": sim.fiscal_year, "performance_rating": sim.choice(C.RATINGS), "completed_at": now,
        }
    if not state.employees:
        state.employees.append(sim.person(state, now, 25, 55))
    person = sim.choice(state.employees)
    skp_id = state.next_id("SKP")
    state.open_items["skp"].append((skp_id, person))
    return "SkpTargetSet", {
        "skp_id": skp_id, "nik_pseudonym": sim.person_fields(person, now)["nik_pseudonym"],
        "fiscal_year": sim.fiscal_year, "agency_code": sim.choice(C.AGENCIES)[0],
        "target_count": rng.randint(3, 10), "approved_by_position": "kepala bidang",
    }
