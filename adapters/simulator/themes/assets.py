"""Assets (SIMBADA): registrations, then revaluations and disposals of earlier registered assets."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from adapters.simulator import catalog as C
from adapters.simulator.state import RegionState, money
from adapters.simulator.themes.base import ThemeEvent

if TYPE_CHECKING:
    from adapters.simulator.generator import EventGenerator


def generate(sim: EventGenerator, state: RegionState, now: datetime) -> ThemeEvent:
    """The next assets event of the region: ``(event type name, fields)``."""
    rng = sim.rng
    asset = sim.take(state, "asset") if rng.random() < 0.4 else None
    if asset is not None:
        asset_id, value = asset
        if rng.random() < 0.5:
            new_value = value * rng.randint(70, 130) // 100
            state.open_items["asset"].append((asset_id, new_value))
            return "AssetRevalued", {
                "asset_id": asset_id, "previous_value": money(value), "new_value": money(new_value),
                "basis": sim.choice(C.REVALUATION_BASES), "revalued_on": now.date(),
            }
        method = sim.choice(C.DISPOSAL_METHODS)
        return "AssetDisposed", {
            "asset_id": asset_id, "disposal_method": method, "book_value": money(value),
            "proceeds": money(value * rng.randint(50, 110) // 100) if method == "penjualan" else None,
            "decree_number": f"SK Bupati No. {rng.randint(1, 999)}/{sim.fiscal_year}",
        }
    asset_id = state.next_id("BMD")
    value = rng.randint(10**7, 10**12)
    state.open_items["asset"].append((asset_id, value))
    return "AssetRegistered", {
        "asset_id": asset_id, "asset_code": sim.choice(C.ASSET_CODES), "agency_code": sim.choice(C.AGENCIES)[0],
        "asset_category": sim.choice(C.ASSET_CATEGORIES), "acquisition_value": money(value),
        "acquired_on": now.date() - timedelta(days=rng.randint(0, 3650)),
    }
