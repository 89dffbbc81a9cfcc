"""Oversight (SIAPIP): audit findings and their follow-ups."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from adapters.simulator import catalog as C
from adapters.simulator.state import RegionState, money
from adapters.simulator.themes.base import ThemeEvent

if TYPE_CHECKING:
    from adapters.simulator.generator import EventGenerator


def generate(sim: EventGenerator, state: RegionState, now: datetime) -> ThemeEvent:
    """The next oversight event of the region: ``(event type name, fields)``."""
    rng = sim.rng
    finding = sim.take(state, "finding") if rng.random() < 0.4 else None
    if finding is not None:
        finding_id, loss = finding
        status = sim.choice(C.FOLLOW_UP_STATUSES)
        return "FindingFollowUpCompleted", {
            "finding_id": finding_id, "status": status,
            "amount_recovered": money(loss) if loss and status == "sesuai" else None, "completed_at": now,
        }
    finding_id = state.next_id("LHP")
    loss = rng.randint(10**7, 10**11) if rng.random() < 0.5 else 0
    state.open_items["finding"].append((finding_id, loss))
    return "AuditFindingRecorded", {
        "finding_id": finding_id, "audit_id": state.next_id("PKPT"), "fiscal_year": sim.fiscal_year - 1,
        "audited_agency_code": sim.choice(C.AGENCIES)[0], "finding_category": sim.choice(C.FINDING_CATEGORIES),
        "recommendation": sim.choice(C.RECOMMENDATIONS), "potential_loss": money(loss) if loss else None,
    }
