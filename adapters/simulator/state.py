"""What the simulator remembers per region, so that follow-up events refer to earlier ones."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from schemas.regions import Region


def money(cents: int) -> Decimal:
    """Rupiah with two decimals from a whole number of cents (exact, no float on the way)."""
    return Decimal(cents).scaleb(-2)


@dataclass
class Person:
    """A synthetic resident: a valid NIK of one of the region's districts, never published as such."""

    nik: str
    birth: date
    district: str


@dataclass
class Allocation:
    """A budget allocation and how much of it SP2Ds have reserved so far."""

    allocation_id: str
    agency: str
    program: str
    activity: str
    amount_cents: int
    reserved_cents: int = 0


@dataclass
class RegionState:
    """One region's simulated history: budget, open items of each lifecycle, employees."""

    region: Region
    districts: list[str]
    counter: int = 0
    apbd_cents: int = 0
    allocated_cents: int = 0
    allocations: list[Allocation] = field(default_factory=list)
    pending_sp2d: list[tuple[str, Allocation, int]] = field(default_factory=list)
    #: Items awaiting a follow-up event, by kind ("complaint", "permit", "tender", ...).
    open_items: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    employees: list[Person] = field(default_factory=list)
    rkpd_done: bool = False

    def next_id(self, prefix: str) -> str:
        """A new id of this region: ``<prefix>-<region code without dots>-<counter>``."""
        self.counter += 1
        return f"{prefix}-{self.region.code.replace('.', '')}-{self.counter:07d}"
