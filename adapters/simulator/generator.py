"""The simulated event stream: a pure function of its parameters.

:func:`generate_events` yields typed events for the chosen regions and
themes. The same ``(seed, count, regions, themes, start, rate, pseudonym
key)`` gives the same events, event ids included, so tests and the central
processors can recompute the expected views from the sequence.

Realism rules kept per region:

* budgeting/treasury: an APBD is adopted first; allocations never exceed the
  APBD's expenditure; an SP2D reserves money from one allocation and the
  realisation that follows posts exactly that amount, so realised <= allocated
  for every activity (and hence every region, province and the nation);
* complaints: forwarded and resolved events refer to an earlier received
  complaint of the same region and carry its ``received_at``;
* licensing: issued/rejected refer to an earlier application and carry its
  ``applied_at``;
* procurement, archives, assets, oversight, accountability, appraisal,
  opendata, revenue: follow-up events refer to earlier ids of the region;
* people (population, personnel, appraisal) come from synthetic, valid NIKs
  of the region's districts, turned into pseudonyms and derived fields by the
  :class:`~adapters.privacy.Pseudonymizer`: no NIK leaves the generator.
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from adapters.privacy import Pseudonymizer
from adapters.privacy.exceptions import MissingPseudonymKeyError
from adapters.simulator import catalog as C
from schemas import THEMES, EventType, event_type, events_of_theme
from schemas.base import EventModel
from schemas.regions import Region, all_regions, districts as region_districts, region as lookup_region
from schemas.samples import sample_fields

#: Default start of simulated time (deterministic runs); the CLI uses "now" unless --start is given.
DEFAULT_START = datetime(2025, 3, 1, tzinfo=timezone.utc)
PERSON_THEMES = frozenset({"population", "personnel", "appraisal"})
SOURCE_SYSTEMS = {
    "planning": "sipd", "budgeting": "sipd", "treasury": "sipd", "procurement": "spse", "personnel": "siasn",
    "archives": "srikandi", "assets": "simbada", "oversight": "siapip", "accountability": "esakip",
    "appraisal": "ekinerja", "complaints": "lapor", "opendata": "satudata", "licensing": "oss",
    "population": "siak", "revenue": "sipd-pendapatan",
}


def parse_regions(spec: str | Sequence[str] | None) -> list[str]:
    """``None``/``"all"`` -> the 552 codes; ``"32,33.01"`` -> those codes (checked)."""
    if spec is None or spec == "all" or (not isinstance(spec, str) and list(spec) == ["all"]):
        return [r.code for r in all_regions()]
    codes = [c.strip() for c in (spec.split(",") if isinstance(spec, str) else spec) if c.strip()]
    unknown = [c for c in codes if lookup_region(c) is None]
    if unknown or not codes:
        from adapters.simulator.exceptions import SimulatorConfigError

        raise SimulatorConfigError(
            f"not current Kemendagri region codes: {', '.join(unknown) or '(none given)'}; "
            "use 'all' or codes like 32,33.01", unknown=unknown
        )
    return list(dict.fromkeys(codes))


def parse_themes(spec: str | Sequence[str] | None) -> list[str]:
    """``None``/``"all"`` -> the 15 themes; ``"budgeting,treasury"`` -> those (checked)."""
    if spec is None or spec == "all" or (not isinstance(spec, str) and list(spec) == ["all"]):
        return list(THEMES)
    names = [t.strip() for t in (spec.split(",") if isinstance(spec, str) else spec) if t.strip()]
    unknown = [t for t in names if t not in THEMES]
    if unknown or not names:
        from adapters.simulator.exceptions import SimulatorConfigError

        raise SimulatorConfigError(
            f"unknown theme(s): {', '.join(unknown) or '(none given)'}; themes: {', '.join(THEMES)}", unknown=unknown
        )
    return list(dict.fromkeys(names))


def _money(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


@dataclass
class _Person:
    nik: str
    birth: date
    district: str


@dataclass
class _Allocation:
    allocation_id: str
    agency: str
    program: str
    activity: str
    amount_cents: int
    reserved_cents: int = 0


@dataclass
class _RegionState:
    region: Region
    districts: list[str]
    counter: int = 0
    apbd_cents: int = 0
    allocated_cents: int = 0
    allocations: list[_Allocation] = field(default_factory=list)
    pending_sp2d: list[tuple[str, _Allocation, int]] = field(default_factory=list)
    open_items: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    employees: list[_Person] = field(default_factory=list)
    rkpd_done: bool = False

    def next_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{self.region.code.replace('.', '')}-{self.counter:07d}"


class EventGenerator:
    """Stateful generator behind :func:`generate_events` (one per run)."""

    def __init__(
        self,
        seed: int,
        *,
        regions: Sequence[str] | None = None,
        themes: Sequence[str] | None = None,
        start: datetime = DEFAULT_START,
        rate: float = 100.0,
        pseudonymizer: Pseudonymizer | None = None,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self.rng = random.Random(seed)
        self.regions = [lookup_region(c) for c in parse_regions(regions)]
        self.themes = parse_themes(themes)
        if PERSON_THEMES & set(self.themes) and pseudonymizer is None:
            raise MissingPseudonymKeyError(
                "simulating population, personnel or appraisal events needs a pseudonym key "
                "(EGOV_PSEUDONYM_KEY): their people are pseudonymized like real ones"
            )
        self.pseudonymizer = pseudonymizer
        self.start = start.astimezone(timezone.utc)
        self.step = timedelta(seconds=1 / rate)
        self.fiscal_year = self.start.year
        self.states: dict[str, _RegionState] = {}
        self.index = 0

    # -- the stream --------------------------------------------------------------------

    def __iter__(self) -> Iterator[EventModel]:
        while True:
            yield self.next_event()

    def next_event(self) -> EventModel:
        rng = self.rng
        region = self.regions[rng.randrange(len(self.regions))]
        theme = self.themes[rng.randrange(len(self.themes))]
        state = self._state(region)
        now = self.start + self.step * self.index
        # Milliseconds: what Avro keeps; equal to the published value after a round trip.
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        self.index += 1
        name, fields = getattr(self, f"_{theme}")(state, now)
        return self._build(event_type(name), region.code, now, fields)

    def _state(self, region: Region) -> _RegionState:
        state = self.states.get(region.code)
        if state is None:
            # A province: the kecamatan of its first three kabupaten/kota are enough to simulate.
            districts = region_districts(region.code, per_province_regencies=3)
            state = self.states[region.code] = _RegionState(region, districts)
        return state

    def _build(self, et: EventType, region_code: str, now: datetime, fields: dict[str, Any]) -> EventModel:
        model_fields = et.model.model_fields
        # Schema evolution guard: fields this generator does not know get the schema's sample value.
        missing = [n for n, f in model_fields.items() if n != "envelope" and f.is_required() and n not in fields]
        if missing:
            samples = sample_fields(et.name, region_code)
            fields.update({n: samples[n] for n in missing})
        fields = {k: v for k, v in fields.items() if k in model_fields}
        return et.model.new(
            region_code=region_code,
            source_system=SOURCE_SYSTEMS[et.theme],
            occurred_at=now,
            produced_at=now,
            event_id=str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            **fields,
        )

    def _choice(self, items: Sequence[Any]) -> Any:
        return items[self.rng.randrange(len(items))]

    def _take(self, state: _RegionState, kind: str) -> Any:
        items = state.open_items[kind]
        return items.pop(self.rng.randrange(len(items))) if items else None

    # -- people ------------------------------------------------------------------------------

    def _person(self, state: _RegionState, now: datetime, min_age: int, max_age: int,
                birth: date | None = None) -> _Person:
        rng = self.rng
        district = self._choice(state.districts)
        if birth is None:
            birth = now.date() - timedelta(days=rng.randint(min_age * 365, max_age * 365 + 364))
        female = rng.random() < 0.5
        day = birth.day + (40 if female else 0)
        nik = f"{district.replace('.', '')}{day:02d}{birth.month:02d}{birth.year % 100:02d}{rng.randint(1, 9999):04d}"
        return _Person(nik, birth, district)

    def _person_fields(self, person: _Person, now: datetime) -> dict[str, Any]:
        assert self.pseudonymizer is not None
        return self.pseudonymizer.person(person.nik, on=now.date()).to_dict()

    # -- themes: each returns (event type name, fields) --------------------------------------

    def _planning(self, state: _RegionState, now: datetime) -> tuple[str, dict[str, Any]]:
        rng = self.rng
        if not state.rkpd_done and rng.random() < 0.1:
            state.rkpd_done = True
            return "RkpdApproved", {
                "rkpd_id": state.next_id("RKPD"), "fiscal_year": self.fiscal_year + 1,
                "regulation_number": f"Perkada No. {rng.randint(1, 60)} Tahun {self.fiscal_year}",
                "approved_at": now - timedelta(days=rng.randint(1, 30)), "program_count": rng.randint(40, 160),
                "indicative_ceiling": _money(rng.randint(5 * 10**14, 3 * 10**15)),
            }
        level = self._choice(C.FORUM_LEVELS)
        agency = self._choice(C.AGENCIES)
        return "MusrenbangProposalSubmitted", {
            "proposal_id": state.next_id("USUL"), "fiscal_year": self.fiscal_year + 1, "forum_level": level,
            "district_code": self._choice(state.districts) if level in ("desa", "kecamatan") else None,
            "title": self._choice(C.PROPOSALS), "proposing_body": self._choice(C.PROPOSING_BODIES),
            "program_code": agency[2] if rng.random() < 0.6 else None,
            "estimated_cost": _money(rng.randint(5 * 10**9, 2 * 10**12)),
        }

    def _budgeting(self, state: _RegionState, now: datetime) -> tuple[str, dict[str, Any]]:
        rng = self.rng
        if state.apbd_cents == 0:
            scale = 10 if state.region.level == 1 else 1
            state.apbd_cents = rng.randint(8 * 10**13, 4 * 10**14) * scale
            return "ApbdAdopted", {
                "fiscal_year": self.fiscal_year,
                "total_expenditure": _money(state.apbd_cents),
                "total_revenue": _money(state.apbd_cents * rng.randint(90, 105) // 100),
                "regulation_number": f"Perda No. {rng.randint(1, 20)} Tahun {self.fiscal_year - 1}",
                "is_amendment": False,
            }
        if len(state.allocations) >= 2 and rng.random() < 0.1:
            source, target = rng.sample(state.allocations, 2)
            room = source.amount_cents - source.reserved_cents
            if room > 100:
                # A shift is informational here: the amounts the views use stay the allocations.
                return "BudgetShiftPosted", {
                    "shift_id": state.next_id("GSR"), "fiscal_year": self.fiscal_year, "agency_code": source.agency,
                    "from_program_code": source.program, "from_activity_code": source.activity,
                    "to_program_code": target.program, "to_activity_code": target.activity,
                    "amount": _money(rng.randint(1, room // 10 or 1)),
                    "legal_basis": f"Perkada No. {rng.randint(1, 90)} Tahun {self.fiscal_year}",
                }
        remaining = state.apbd_cents - state.allocated_cents
        amount = min(remaining, rng.randint(state.apbd_cents // 2000, state.apbd_cents // 50))
        if amount <= 0:
            return self._treasury(state, now)
        agency, _name, program, activities = self._choice(C.AGENCIES)
        allocation = _Allocation(state.next_id("DPA"), agency, program, self._choice(activities), amount)
        state.allocations.append(allocation)
        state.allocated_cents += amount
        return "BudgetAllocated", {
            "allocation_id": allocation.allocation_id, "fiscal_year": self.fiscal_year, "agency_code": agency,
            "program_code": program, "activity_code": allocation.activity,
            "sub_activity_code": f"{allocation.activity}.{rng.randint(1, 20):04d}" if rng.random() < 0.5 else None,
            "amount": _money(amount),
        }

    def _treasury(self, state: _RegionState, now: datetime) -> tuple[str, dict[str, Any]]:
        rng = self.rng
        if state.pending_sp2d and rng.random() < 0.6:
            number, allocation, cents = state.pending_sp2d.pop(0)
            return "BudgetRealizationPosted", {
                "realization_id": state.next_id("REAL"), "fiscal_year": self.fiscal_year,
                "agency_code": allocation.agency, "program_code": allocation.program,
                "activity_code": allocation.activity, "amount": _money(cents), "sp2d_number": number,
            }
        open_allocations = [a for a in state.allocations if a.amount_cents - a.reserved_cents > 0]
        number = f"{state.counter + 1:05d}/SP2D/{self._choice(C.PAYMENT_TYPES)}/{self.fiscal_year}"
        if not open_allocations:
            # Nothing allocated yet (or all spent): a payment not tied to this year's allocations.
            state.counter += 1
            return "Sp2dIssued", {
                "sp2d_number": number, "fiscal_year": self.fiscal_year, "agency_code": self._choice(C.AGENCIES)[0],
                "payment_type": "UP", "amount": _money(rng.randint(10**8, 10**10)), "issued_at": now,
            }
        allocation = self._choice(open_allocations)
        room = allocation.amount_cents - allocation.reserved_cents
        cents = room if room < 10**6 else rng.randint(room // 20 or 1, room // 3 or 1)
        allocation.reserved_cents += cents
        state.counter += 1
        state.pending_sp2d.append((number, allocation, cents))
        return "Sp2dIssued", {
            "sp2d_number": number, "fiscal_year": self.fiscal_year, "agency_code": allocation.agency,
            "payment_type": number.split("/")[2], "amount": _money(cents), "issued_at": now,
        }

    def _procurement(self, state: _RegionState, now: datetime) -> tuple[str, dict[str, Any]]:
        rng = self.rng
        tender = self._take(state, "tender") if rng.random() < 0.4 else None
        if tender is not None:
            tender_id, estimate = tender
            return "ContractAwarded", {
                "contract_id": state.next_id("KONTRAK"), "tender_id": tender_id, "fiscal_year": self.fiscal_year,
                "supplier_id": f"SIKAP-{rng.randint(100000, 999999)}", "supplier_name": self._choice(C.SUPPLIERS),
                "contract_value": _money(estimate * rng.randint(85, 99) // 100), "signed_at": now,
            }
        plan = self._take(state, "plan") if rng.random() < 0.5 else None
        if plan is not None:
            plan_id, package, value = plan
            tender_id = state.next_id("TENDER")
            estimate = value * rng.randint(90, 100) // 100
            state.open_items["tender"].append((tender_id, estimate))
            return "TenderAnnounced", {
                "tender_id": tender_id, "plan_id": plan_id, "fiscal_year": self.fiscal_year, "package_name": package,
                "owner_estimate": _money(estimate), "bid_deadline": now + timedelta(days=rng.randint(7, 21)),
            }
        plan_id, package = state.next_id("RUP"), self._choice(C.PACKAGES)
        value = rng.randint(2 * 10**10, 5 * 10**12)
        state.open_items["plan"].append((plan_id, package, value))
        return "ProcurementPlanPublished", {
            "plan_id": plan_id, "fiscal_year": self.fiscal_year, "agency_code": self._choice(C.AGENCIES)[0],
            "package_name": package, "procurement_method": self._choice(C.PROCUREMENT_METHODS),
            "estimated_value": _money(value),
        }

    def _personnel(self, state: _RegionState, now: datetime) -> tuple[str, dict[str, Any]]:
        rng = self.rng
        if state.employees and rng.random() < 0.35:
            if rng.random() < 0.6:
                person = self._choice(state.employees)
                agencies = rng.sample(C.AGENCIES, 2)
                return "EmployeeTransferred", {
                    "nik_pseudonym": self._person_fields(person, now)["nik_pseudonym"],
                    "from_agency_code": agencies[0][0], "to_agency_code": agencies[1][0], "to_region_code": None,
                    "position_title": self._choice(C.POSITIONS), "effective_on": now.date(),
                }
            person = state.employees.pop(rng.randrange(len(state.employees)))
            return "EmployeeRetired", {
                **self._person_fields(person, now), "agency_code": self._choice(C.AGENCIES)[0],
                "retirement_type": self._choice(C.RETIREMENT_TYPES), "effective_on": now.date(),
            }
        person = self._person(state, now, 22, 45)
        state.employees.append(person)
        pns = rng.random() < 0.6
        fields = self._person_fields(person, now)
        fields.pop("district_code", None)
        return "EmployeeAppointed", {
            **fields, "agency_code": self._choice(C.AGENCIES)[0], "employment_type": "PNS" if pns else "PPPK",
            "position_title": self._choice(C.POSITIONS), "rank_grade": self._choice(C.RANKS) if pns else None,
            "effective_on": now.date(),
        }

    def _archives(self, state: _RegionState, now: datetime) -> tuple[str, dict[str, Any]]:
        rng = self.rng
        letter = self._take(state, "letter") if rng.random() < 0.5 else None
        if letter is not None:
            return "DispositionIssued", {
                "disposition_id": state.next_id("DISP"), "letter_id": letter, "from_position": "kepala dinas",
                "to_position": self._choice(C.POSITIONS), "instruction": self._choice(C.INSTRUCTIONS),
                "due_at": now + timedelta(days=rng.randint(1, 14)) if rng.random() < 0.7 else None,
            }
        letter_id = state.next_id("SRIKANDI")
        state.open_items["letter"].append(letter_id)
        classification = self._choice(C.LETTER_CLASSIFICATIONS)
        return "OfficialLetterSent", {
            "letter_id": letter_id,
            "letter_number": f"{classification}/{rng.randint(1, 9999)}/{self._choice(('Disdik', 'Dinkes', 'BPKAD'))}",
            "classification_code": classification, "security_level": self._choice(C.SECURITY_LEVELS),
            "sender_agency_code": self._choice(C.AGENCIES)[0], "recipient_agency_code": self._choice(C.AGENCIES)[0],
            "recipient_region_code": None,
        }

    def _assets(self, state: _RegionState, now: datetime) -> tuple[str, dict[str, Any]]:
        rng = self.rng
        asset = self._take(state, "asset") if rng.random() < 0.4 else None
        if asset is not None:
            asset_id, value = asset
            if rng.random() < 0.5:
                new_value = value * rng.randint(70, 130) // 100
                state.open_items["asset"].append((asset_id, new_value))
                return "AssetRevalued", {
                    "asset_id": asset_id, "previous_value": _money(value), "new_value": _money(new_value),
                    "basis": self._choice(C.REVALUATION_BASES), "revalued_on": now.date(),
                }
            method = self._choice(C.DISPOSAL_METHODS)
            return "AssetDisposed", {
                "asset_id": asset_id, "disposal_method": method, "book_value": _money(value),
                "proceeds": _money(value * rng.randint(50, 110) // 100) if method == "penjualan" else None,
                "decree_number": f"SK Bupati No. {rng.randint(1, 999)}/{self.fiscal_year}",
            }
        asset_id = state.next_id("BMD")
        value = rng.randint(10**7, 10**12)
        state.open_items["asset"].append((asset_id, value))
        return "AssetRegistered", {
            "asset_id": asset_id, "asset_code": self._choice(C.ASSET_CODES), "agency_code": self._choice(C.AGENCIES)[0],
            "asset_category": self._choice(C.ASSET_CATEGORIES), "acquisition_value": _money(value),
            "acquired_on": now.date() - timedelta(days=rng.randint(0, 3650)),
        }

    def _oversight(self, state: _RegionState, now: datetime) -> tuple[str, dict[str, Any]]:
        rng = self.rng
        finding = self._take(state, "finding") if rng.random() < 0.4 else None
        if finding is not None:
            finding_id, loss = finding
            status = self._choice(C.FOLLOW_UP_STATUSES)
            return "FindingFollowUpCompleted", {
                "finding_id": finding_id, "status": status,
                "amount_recovered": _money(loss) if loss and status == "sesuai" else None, "completed_at": now,
            }
        finding_id = state.next_id("LHP")
        loss = rng.randint(10**7, 10**11) if rng.random() < 0.5 else 0
        state.open_items["finding"].append((finding_id, loss))
        return "AuditFindingRecorded", {
            "finding_id": finding_id, "audit_id": state.next_id("PKPT"), "fiscal_year": self.fiscal_year - 1,
            "audited_agency_code": self._choice(C.AGENCIES)[0], "finding_category": self._choice(C.FINDING_CATEGORIES),
            "recommendation": self._choice(C.RECOMMENDATIONS), "potential_loss": _money(loss) if loss else None,
        }

    def _accountability(self, state: _RegionState, now: datetime) -> tuple[str, dict[str, Any]]:
        rng = self.rng
        agreements = state.open_items["agreement"]
        if agreements and rng.random() < 0.6:
            agreement_id = self._choice(agreements)
            code, unit = self._choice(C.INDICATORS)
            target = float(rng.randint(50, 100))
            achieved = round(target * rng.uniform(0.6, 1.15), 1)
            return "IndicatorAchievementReported", {
                "agreement_id": agreement_id, "indicator_code": code, "fiscal_year": self.fiscal_year,
                "period": self._choice(C.PERIODS), "unit": unit, "target": target, "achieved": achieved,
                "target_value": target, "achieved_value": achieved,
            }
        agreement_id = state.next_id("PK")
        agreements.append(agreement_id)
        return "PerformanceAgreementSigned", {
            "agreement_id": agreement_id, "fiscal_year": self.fiscal_year, "agency_code": self._choice(C.AGENCIES)[0],
            "signatory_position": "kepala dinas", "indicator_count": rng.randint(3, 12),
            "budget": _money(rng.randint(10**11, 10**14)),
        }

    def _appraisal(self, state: _RegionState, now: datetime) -> tuple[str, dict[str, Any]]:
        rng = self.rng
        skp = self._take(state, "skp") if rng.random() < 0.4 else None
        if skp is not None:
            skp_id, person = skp
            return "AppraisalCompleted", {
                "skp_id": skp_id, "nik_pseudonym": self._person_fields(person, now)["nik_pseudonym"],
                "fiscal_year": self.fiscal_year, "performance_rating": self._choice(C.RATINGS), "completed_at": now,
            }
        if not state.employees:
            state.employees.append(self._person(state, now, 25, 55))
        person = self._choice(state.employees)
        skp_id = state.next_id("SKP")
        state.open_items["skp"].append((skp_id, person))
        return "SkpTargetSet", {
            "skp_id": skp_id, "nik_pseudonym": self._person_fields(person, now)["nik_pseudonym"],
            "fiscal_year": self.fiscal_year, "agency_code": self._choice(C.AGENCIES)[0],
            "target_count": rng.randint(3, 10), "approved_by_position": "kepala bidang",
        }

    def _complaints(self, state: _RegionState, now: datetime) -> tuple[str, dict[str, Any]]:
        rng = self.rng
        roll = rng.random()
        open_complaints = state.open_items["complaint"]
        if open_complaints and roll < 0.35:
            complaint_id, received_at, category = open_complaints.pop(rng.randrange(len(open_complaints)))
            return "ComplaintResolved", {
                "complaint_id": complaint_id, "received_at": received_at,
                "outcome": self._choice(C.COMPLAINT_OUTCOMES), "category": category,
            }
        if open_complaints and roll < 0.5:
            complaint_id, _received_at, _category = self._choice(open_complaints)
            return "ComplaintForwarded", {
                "complaint_id": complaint_id, "to_agency": self._choice(C.FORWARD_AGENCIES), "to_region_code": None,
            }
        complaint_id = state.next_id("LAPOR")
        category = self._choice(C.COMPLAINT_CATEGORIES)
        open_complaints.append((complaint_id, now, category))
        return "ComplaintReceived", {
            "complaint_id": complaint_id, "category": category, "channel": self._choice(C.COMPLAINT_CHANNELS),
            "district_code": self._choice(state.districts) if rng.random() < 0.7 else None,
            "is_anonymous": rng.random() < 0.2,
        }

    def _opendata(self, state: _RegionState, now: datetime) -> tuple[str, dict[str, Any]]:
        rng = self.rng
        datasets = state.open_items["dataset"]
        if datasets and rng.random() < 0.4:
            index = rng.randrange(len(datasets))
            dataset_id, version = datasets[index]
            datasets[index] = (dataset_id, version + 1)
            return "DatasetMetadataUpdated", {
                "dataset_id": dataset_id, "metadata_version": version + 1,
                "changed_fields": rng.sample(C.METADATA_FIELDS, rng.randint(1, 3)),
            }
        dataset_id = state.next_id("DS")
        datasets.append((dataset_id, 1))
        slug = dataset_id.lower()
        return "DatasetPublished", {
            "dataset_id": dataset_id, "title": self._choice(C.DATASETS),
            "producer_agency_code": self._choice(C.AGENCIES)[0], "license": "CC-BY-4.0",
            "update_frequency": self._choice(C.FREQUENCIES),
            "url": f"https://data.go.id/dataset/{slug}", "keywords": rng.sample(C.KEYWORDS, rng.randint(1, 3)),
        }

    def _licensing(self, state: _RegionState, now: datetime) -> tuple[str, dict[str, Any]]:
        rng = self.rng
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
                "reason": self._choice(C.REJECTION_REASONS),
            }
        permit_id, permit_type = state.next_id("OSS"), self._choice(C.PERMIT_TYPES)
        pending.append((permit_id, permit_type, now))
        business = permit_type == "izin usaha"
        return "PermitApplied", {
            "permit_id": permit_id, "permit_type": permit_type, "kbli_code": self._choice(C.KBLI) if business else None,
            "applicant_kind": "badan usaha" if business else self._choice(C.APPLICANT_KINDS),
            "district_code": self._choice(state.districts) if rng.random() < 0.8 else None,
        }

    def _population(self, state: _RegionState, now: datetime) -> tuple[str, dict[str, Any]]:
        rng = self.rng
        roll = rng.random()
        if roll < 0.45:
            delay = rng.randint(0, 60)
            person = self._person(state, now, 0, 0, birth=now.date() - timedelta(days=delay))
            return "BirthRegistered", {**self._person_fields(person, now), "registration_delay_days": delay}
        if roll < 0.7:
            delay = rng.randint(0, 30)
            person = self._person(state, now, 1, 95)
            return "DeathRegistered", {**self._person_fields(person, now), "registration_delay_days": delay}
        person = self._person(state, now, 17, 75)
        scope = rng.random()
        if scope < 0.5:
            destination = self._choice(state.districts)
            move_type = C.MOVE_TYPES["same_district" if destination == person.district else "same_regency"]
        else:
            other = self._state(self._choice(self.regions))
            destination = self._choice(other.districts)
            same_province = destination[:2] == person.district[:2]
            move_type = C.MOVE_TYPES["same_province" if same_province else "other"]
            if destination[:5] == person.district[:5]:
                move_type = C.MOVE_TYPES["same_district" if destination == person.district else "same_regency"]
        return "ResidenceMoved", {
            **self._person_fields(person, now), "destination_district_code": destination, "move_type": move_type,
            "family_members": rng.choice((0, 0, 1, 2, 3, 4)),
        }

    def _revenue(self, state: _RegionState, now: datetime) -> tuple[str, dict[str, Any]]:
        rng = self.rng
        assessment = self._take(state, "assessment") if rng.random() < 0.5 else None
        if assessment is not None:
            assessment_id, tax_type, cents = assessment
            return "TaxPaymentReceived", {
                "payment_id": state.next_id("NTPD"), "assessment_id": assessment_id, "fiscal_year": self.fiscal_year,
                "tax_type": tax_type, "amount": _money(cents), "payment_channel": self._choice(C.PAYMENT_CHANNELS),
            }
        assessment_id, tax_type = state.next_id("SPPT"), self._choice(C.TAX_TYPES)
        cents = rng.randint(5 * 10**6, 5 * 10**9)
        state.open_items["assessment"].append((assessment_id, tax_type, cents))
        district = self._choice(state.districts)
        # A NOP in its official dotted form: never 16+ digits in a row (the raw-NIK guard).
        nop = f"{district}.{rng.randint(1, 20):03d}.{rng.randint(1, 999):03d}-{rng.randint(1, 9999):04d}.0"
        return "TaxAssessed", {
            "assessment_id": assessment_id, "fiscal_year": self.fiscal_year, "tax_type": tax_type,
            "tax_object_id": nop, "amount": _money(cents), "due_at": now + timedelta(days=rng.randint(30, 180)),
            "district_code": district if rng.random() < 0.8 else None,
        }


def generate_events(
    seed: int,
    count: int,
    *,
    regions: Sequence[str] | str | None = None,
    themes: Sequence[str] | str | None = None,
    start: datetime = DEFAULT_START,
    rate: float = 100.0,
    pseudonymizer: Pseudonymizer | None = None,
) -> Iterator[EventModel]:
    """The first ``count`` events of the simulation for ``seed`` (a pure function of its arguments).

    ``occurred_at`` of event ``i`` is ``start + i / rate`` seconds; ``produced_at`` equals it.
    Person themes need ``pseudonymizer`` (the same key gives the same pseudonyms).
    """
    generator = EventGenerator(seed, regions=regions, themes=themes, start=start, rate=rate,
                               pseudonymizer=pseudonymizer)
    for _ in range(count):
        yield generator.next_event()


def themes_of(events: Sequence[EventModel]) -> dict[str, int]:
    """Events per theme (for summaries)."""
    out: dict[str, int] = defaultdict(int)
    for event in events:
        out[type(event).THEME] += 1
    return dict(out)


__all__ = ["generate_events", "EventGenerator", "parse_regions", "parse_themes", "DEFAULT_START", "events_of_theme"]
