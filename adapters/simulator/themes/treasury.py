"""Treasury (SIPD): an SP2D reserves money from one allocation and the realisation that follows posts
exactly that amount, so realised <= allocated for every activity (and so every region, province, the nation).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from adapters.simulator import catalog as C
from adapters.simulator.state import RegionState, money
from adapters.simulator.themes.base import ThemeEvent

if TYPE_CHECKING:
    from adapters.simulator.generator import EventGenerator


def generate(sim: EventGenerator, state: RegionState, now: datetime) -> ThemeEvent:
    """The next treasury event of the region: ``(event type name, fields)``."""
    rng = sim.rng
    if state.pending_sp2d and rng.random() < 0.6:
        number, allocation, cents = state.pending_sp2d.pop(0)
        return "BudgetRealizationPosted", {
            "realization_id": state.next_id("REAL"), "fiscal_year": sim.fiscal_year,
            "agency_code": allocation.agency, "program_code": allocation.program,
            "activity_code": allocation.activity, "amount": money(cents), "sp2d_number": number,
        }
    open_allocations = [a for a in state.allocations if a.amount_cents - a.reserved_cents > 0]
    number = f"{state.counter + 1:05d}/SP2D/{sim.choice(C.PAYMENT_TYPES)}/{sim.fiscal_year}"
    if not open_allocations:
        # Nothing allocated yet (or all spent): a payment not tied to this year's allocations.
        state.counter += 1
        return "Sp2dIssued", {
            "sp2d_number": number, "fiscal_year": sim.fiscal_year, "agency_code": sim.choice(C.AGENCIES)[0],
            "payment_type": "UP", "amount": money(rng.randint(10**8, 10**10)), "issued_at": now,
        }
    allocation = sim.choice(open_allocations)
    room = allocation.amount_cents - allocation.reserved_cents
    cents = room if room < 10**6 else rng.randint(room // 20 or 1, room // 3 or 1)
    allocation.reserved_cents += cents
    state.counter += 1
    state.pending_sp2d.append((number, allocation, cents))
    return "Sp2dIssued", {
        "sp2d_number": number, "fiscal_year": sim.fiscal_year, "agency_code": allocation.agency,
        "payment_type": number.split("/")[2], "amount": money(cents), "issued_at": now,
    }
