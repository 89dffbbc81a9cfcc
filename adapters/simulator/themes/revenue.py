"""Revenue (SIPD pendapatan): tax assessments and the payments that settle them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from adapters.simulator import catalog as C
from adapters.simulator.state import RegionState, money
from adapters.simulator.themes.base import ThemeEvent

if TYPE_CHECKING:
    from adapters.simulator.generator import EventGenerator


def generate(sim: EventGenerator, state: RegionState, now: datetime) -> ThemeEvent:
    """The next revenue event of the region: ``(event type name, fields)``."""
    rng = sim.rng
    assessment = sim.take(state, "assessment") if rng.random() < 0.5 else None
    if assessment is not None:
        assessment_id, tax_type, cents = assessment
        return "TaxPaymentReceived", {
            "payment_id": state.next_id("NTPD"), "assessment_id": assessment_id, "fiscal_year": sim.fiscal_year,
            "tax_type": tax_type, "amount": money(cents), "payment_channel": sim.choice(C.PAYMENT_CHANNELS),
        }
    assessment_id, tax_type = state.next_id("SPPT"), sim.choice(C.TAX_TYPES)
    cents = rng.randint(5 * 10**6, 5 * 10**9)
    state.open_items["assessment"].append((assessment_id, tax_type, cents))
    district = sim.choice(state.districts)
    # A NOP in its official dotted form: never 16+ digits in a row (the raw-NIK guard).
    nop = f"{district}.{rng.randint(1, 20):03d}.{rng.randint(1, 999):03d}-{rng.randint(1, 9999):04d}.0"
    return "TaxAssessed", {
        "assessment_id": assessment_id, "fiscal_year": sim.fiscal_year, "tax_type": tax_type,
        "tax_object_id": nop, "amount": money(cents), "due_at": now + timedelta(days=rng.randint(30, 180)),
        "district_code": district if rng.random() < 0.8 else None,
    }
