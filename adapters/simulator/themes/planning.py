"""Planning (SIPD): the RKPD approved once per region and fiscal year, Musrenbang proposals."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from adapters.simulator import catalog as C
from adapters.simulator.state import RegionState, money
from adapters.simulator.themes.base import ThemeEvent

if TYPE_CHECKING:
    from adapters.simulator.generator import EventGenerator


def generate(sim: EventGenerator, state: RegionState, now: datetime) -> ThemeEvent:
    """The next planning event of the region: ``(event type name, fields)``."""
    rng = sim.rng
    if not state.rkpd_done and rng.random() < 0.1:
        state.rkpd_done = True
        return "RkpdApproved", {
            "rkpd_id": state.next_id("RKPD"), "fiscal_year": sim.fiscal_year + 1,
            "regulation_number": f"Perkada No. {rng.randint(1, 60)} Tahun {sim.fiscal_year}",
            "approved_at": now - timedelta(days=rng.randint(1, 30)), "program_count": rng.randint(40, 160),
            "indicative_ceiling": money(rng.randint(5 * 10**14, 3 * 10**15)),
        }
    level = sim.choice(C.FORUM_LEVELS)
    agency = sim.choice(C.AGENCIES)
    return "MusrenbangProposalSubmitted", {
        "proposal_id": state.next_id("USUL"), "fiscal_year": sim.fiscal_year + 1, "forum_level": level,
        "district_code": sim.choice(state.districts) if level in ("desa", "kecamatan") else None,
        "title": sim.choice(C.PROPOSALS), "proposing_body": sim.choice(C.PROPOSING_BODIES),
        "program_code": agency[2] if rng.random() < 0.6 else None,
        "estimated_cost": money(rng.randint(5 * 10**9, 2 * 10**12)),
    }
