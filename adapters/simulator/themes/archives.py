"""Archives (SRIKANDI): official letters and dispositions of earlier letters."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from adapters.simulator import catalog as C
from adapters.simulator.state import RegionState
from adapters.simulator.themes.base import ThemeEvent

if TYPE_CHECKING:
    from adapters.simulator.generator import EventGenerator


def generate(sim: EventGenerator, state: RegionState, now: datetime) -> ThemeEvent:
    """The next archives event of the region: ``(event type name, fields)``."""
    rng = sim.rng
    letter = sim.take(state, "letter") if rng.random() < 0.5 else None
    if letter is not None:
        return "DispositionIssued", {
            "disposition_id": state.next_id("DISP"), "letter_id": letter, "from_position": "kepala dinas",
            "to_position": sim.choice(C.POSITIONS), "instruction": sim.choice(C.INSTRUCTIONS),
            "due_at": now + timedelta(days=rng.randint(1, 14)) if rng.random() < 0.7 else None,
        }
    letter_id = state.next_id("SRIKANDI")
    state.open_items["letter"].append(letter_id)
    classification = sim.choice(C.LETTER_CLASSIFICATIONS)
    return "OfficialLetterSent", {
        "letter_id": letter_id,
        "letter_number": f"{classification}/{rng.randint(1, 9999)}/{sim.choice(('Disdik', 'Dinkes', 'BPKAD'))}",
        "classification_code": classification, "security_level": sim.choice(C.SECURITY_LEVELS),
        "sender_agency_code": sim.choice(C.AGENCIES)[0], "recipient_agency_code": sim.choice(C.AGENCIES)[0],
        "recipient_region_code": None,
    }
