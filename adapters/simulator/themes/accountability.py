"""Accountability (e-SAKIP): performance agreements and the indicator achievements reported on them."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from adapters.simulator import catalog as C
from adapters.simulator.state import RegionState, money
from adapters.simulator.themes.base import ThemeEvent

if TYPE_CHECKING:
    from adapters.simulator.generator import EventGenerator


def generate(sim: EventGenerator, state: RegionState, now: datetime) -> ThemeEvent:
    """The next accountability event of the region: ``(event type name, fields)``."""
    rng = sim.rng
    agreements = state.open_items["agreement"]
    if agreements and rng.random() < 0.6:
        agreement_id = sim.choice(agreements)
        code, unit = sim.choice(C.INDICATORS)
        target = float(rng.randint(50, 100))
        achieved = round(target * rng.uniform(0.6, 1.15), 1)
        return "IndicatorAchievementReported", {
            "agreement_id": agreement_id, "indicator_code": code, "fiscal_year": sim.fiscal_year,
            "period": sim.choice(C.PERIODS), "unit": unit, "target": target, "achieved": achieved,
            "target_value": target, "achieved_value": achieved,
        }
    agreement_id = state.next_id("PK")
    agreements.append(agreement_id)
    return "PerformanceAgreementSigned", {
        "agreement_id": agreement_id, "fiscal_year": sim.fiscal_year, "agency_code": sim.choice(C.AGENCIES)[0],
        "signatory_position": "kepala dinas", "indicator_count": rng.randint(3, 12),
        "budget": money(rng.randint(10**11, 10**14)),
    }
