"""Licensing (OSS): applications, then an issued or rejected permit carrying its ``applied_at``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from adapters.simulator import catalog as C
from adapters.simulator.state import RegionState
from adapters.simulator.themes.base import ThemeEvent

if TYPE_CHECKING:
    from adapters.simulator.generator import EventGenerator


def generate(sim: EventGenerator, state: RegionState, now: datetime) -> ThemeEvent:
    """The next licensing event of the region: ``(event type name, fields)``."""
    rng = sim.rng
    pending = state.open_items["permit"]
    if pending and rng.random() < 0.45:
        permit_id, permit_type, applied_at = pending.pop(rng.randrange(len(pending)))
        if rng.random() < 0.8:
            return "PermitIssued", {
                "permit_id": permit_id, "permit_type": permit_type, "applied_at": applied_at,
                "permit_number": f"{permit_type.split()[0].upper()}-{state.next_id('IZIN')}",
                "valid_until": now + timedelta(days=365 * rng.randint(1, 5)) if rng.random() < 0.6 else None,
            }
        return "PermitRejected", {
            "permit_id": permit_id, "permit_type": permit_type, "applied_at": applied_at,
            "reason": sim.choice(C.REJECTION_REASONS),
        }
    permit_id, permit_type = state.next_id("OSS"), sim.choice(C.PERMIT_TYPES)
    pending.append((permit_id, permit_type, now))
    business = permit_type == "izin usaha"
    return "PermitApplied", {
        "permit_id": permit_id, "permit_type": permit_type, "kbli_code": sim.choice(C.KBLI) if business else None,
        "applicant_kind": "badan usaha" if business else sim.choice(C.APPLICANT_KINDS),
        "district_code": sim.choice(state.districts) if rng.random() < 0.8 else None,
    }
