"""Procurement (SPSE): plan -> tender -> contract, each referring to an earlier id of the region."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from adapters.simulator import catalog as C
from adapters.simulator.state import RegionState, money
from adapters.simulator.themes.base import ThemeEvent

if TYPE_CHECKING:
    from adapters.simulator.generator import EventGenerator


def generate(sim: EventGenerator, state: RegionState, now: datetime) -> ThemeEvent:
    """The next procurement event of the region: ``(event type name, fields)``."""
    rng = sim.rng
    tender = sim.take(state, "tender") if rng.random() < 0.4 else None
    if tender is not None:
        tender_id, estimate = tender
        return "ContractAwarded", {
            "contract_id": state.next_id("KONTRAK"), "tender_id": tender_id, "fiscal_year": sim.fiscal_year,
            "supplier_id": f"SIKAP-{rng.randint(100000, 999999)}", "supplier_name": sim.choice(C.SUPPLIERS),
            "contract_value": money(estimate * rng.randint(85, 99) // 100), "signed_at": now,
        }
    plan = sim.take(state, "plan") if rng.random() < 0.5 else None
    if plan is not None:
        plan_id, package, value = plan
        tender_id = state.next_id("TENDER")
        estimate = value * rng.randint(90, 100) // 100
        state.open_items["tender"].append((tender_id, estimate))
        return "TenderAnnounced", {
            "tender_id": tender_id, "plan_id": plan_id, "fiscal_year": sim.fiscal_year, "package_name": package,
            "owner_estimate": money(estimate), "bid_deadline": now + timedelta(days=rng.randint(7, 21)),
        }
    plan_id, package = state.next_id("RUP"), sim.choice(C.PACKAGES)
    value = rng.randint(2 * 10**10, 5 * 10**12)
    state.open_items["plan"].append((plan_id, package, value))
    return "ProcurementPlanPublished", {
        "plan_id": plan_id, "fiscal_year": sim.fiscal_year, "agency_code": sim.choice(C.AGENCIES)[0],
        "package_name": package, "procurement_method": sim.choice(C.PROCUREMENT_METHODS),
        "estimated_value": money(value),
    }
