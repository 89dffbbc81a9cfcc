"""Budgeting (SIPD): the APBD adopted first; allocations never exceed its expenditure; budget shifts.

When the APBD is fully allocated, a budgeting turn becomes a treasury event.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from adapters.simulator import catalog as C
from adapters.simulator.state import Allocation, RegionState, money
from adapters.simulator.themes import treasury
from adapters.simulator.themes.base import ThemeEvent

if TYPE_CHECKING:
    from adapters.simulator.generator import EventGenerator


def generate(sim: EventGenerator, state: RegionState, now: datetime) -> ThemeEvent:
    """The next budgeting event of the region: ``(event type name, fields)``."""
    rng = sim.rng
    if state.apbd_cents == 0:
        scale = 10 if state.region.level == 1 else 1
        state.apbd_cents = rng.randint(8 * 10**13, 4 * 10**14) * scale
        return "ApbdAdopted", {
            "fiscal_year": sim.fiscal_year,
            "total_expenditure": money(state.apbd_cents),
            "total_revenue": money(state.apbd_cents * rng.randint(90, 105) // 100),
            "regulation_number": f"Perda No. {rng.randint(1, 20)} Tahun {sim.fiscal_year - 1}",
            "is_amendment": False,
        }
    if len(state.allocations) >= 2 and rng.random() < 0.1:
        source, target = rng.sample(state.allocations, 2)
        room = source.amount_cents - source.reserved_cents
        if room > 100:
            # A shift is informational here: the amounts the views use stay the allocations.
            return "BudgetShiftPosted", {
                "shift_id": state.next_id("GSR"), "fiscal_year": sim.fiscal_year, "agency_code": source.agency,
                "from_program_code": source.program, "from_activity_code": source.activity,
                "to_program_code": target.program, "to_activity_code": target.activity,
                "amount": money(rng.randint(1, room // 10 or 1)),
                "legal_basis": f"Perkada No. {rng.randint(1, 90)} Tahun {sim.fiscal_year}",
            }
    remaining = state.apbd_cents - state.allocated_cents
    amount = min(remaining, rng.randint(state.apbd_cents // 2000, state.apbd_cents // 50))
    if amount <= 0:
        return treasury.generate(sim, state, now)
    agency, _name, program, activities = sim.choice(C.AGENCIES)
    allocation = Allocation(state.next_id("DPA"), agency, program, sim.choice(activities), amount)
    state.allocations.append(allocation)
    state.allocated_cents += amount
    return "BudgetAllocated", {
        "allocation_id": allocation.allocation_id, "fiscal_year": sim.fiscal_year, "agency_code": agency,
        "program_code": program, "activity_code": allocation.activity,
        "sub_activity_code": f"{allocation.activity}.{rng.randint(1, 20):04d}" if rng.random() < 0.5 else None,
        "amount": money(amount),
    }
