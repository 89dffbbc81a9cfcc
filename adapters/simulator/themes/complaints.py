"""Complaints (LAPOR!): received, then forwarded or resolved, carrying the complaint's ``received_at``."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from adapters.simulator import catalog as C
from adapters.simulator.state import RegionState
from adapters.simulator.themes.base import ThemeEvent

if TYPE_CHECKING:
    from adapters.simulator.generator import EventGenerator


def generate(sim: EventGenerator, state: RegionState, now: datetime) -> ThemeEvent:
    """The next complaints event of the region: ``(event type name, fields)``."""
    rng = sim.rng
    roll = rng.random()
    open_complaints = state.open_items["complaint"]
    if open_complaints and roll < 0.35:
        complaint_id, received_at, category = open_complaints.pop(rng.randrange(len(open_complaints)))
        return "ComplaintResolved", {
            "complaint_id": complaint_id, "received_at": received_at,
            "outcome": sim.choice(C.COMPLAINT_OUTCOMES), "category": category,
        }
    if open_complaints and roll < 0.5:
        complaint_id, _received_at, _category = sim.choice(open_complaints)
        return "ComplaintForwarded", {
            "complaint_id": complaint_id, "to_agency": sim.choice(C.FORWARD_AGENCIES), "to_region_code": None,
        }
    complaint_id = state.next_id("LAPOR")
    category = sim.choice(C.COMPLAINT_CATEGORIES)
    open_complaints.append((complaint_id, now, category))
    return "ComplaintReceived", {
        "complaint_id": complaint_id, "category": category, "channel": sim.choice(C.COMPLAINT_CHANNELS),
        "district_code": sim.choice(state.districts) if rng.random() < 0.7 else None,
        "is_anonymous": rng.random() < 0.2,
    }
