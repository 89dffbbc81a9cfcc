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

This module is the machinery (regions, time, envelope, event ids, people);
each theme's events come from its module in :mod:`adapters.simulator.themes`,
picked through :data:`~adapters.simulator.themes.GENERATORS`.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta, timezone
from typing import Any

from adapters.privacy import Pseudonymizer
from adapters.privacy.exceptions import MissingPseudonymKeyError
from adapters.simulator.exceptions import SimulatorConfigError
from adapters.simulator.state import Person, RegionState
from adapters.simulator.themes import GENERATORS
from schemas import THEMES, EventType, event_type
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
        raise SimulatorConfigError(
            f"unknown theme(s): {', '.join(unknown) or '(none given)'}; themes: {', '.join(THEMES)}", unknown=unknown
        )
    return list(dict.fromkeys(names))



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
            raise SimulatorConfigError("rate must be positive", rate=rate)
        if start.tzinfo is None:
            raise SimulatorConfigError("start must be timezone-aware", start=start.isoformat())
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
        self.states: dict[str, RegionState] = {}
        self.index = 0

    # -- the stream --------------------------------------------------------------------

    def __iter__(self) -> Iterator[EventModel]:
        while True:
            yield self.next_event()

    def next_event(self) -> EventModel:
        rng = self.rng
        region = self.regions[rng.randrange(len(self.regions))]
        theme = self.themes[rng.randrange(len(self.themes))]
        state = self.region_state(region)
        now = self.start + self.step * self.index
        # Milliseconds: what Avro keeps; equal to the published value after a round trip.
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        self.index += 1
        name, fields = GENERATORS[theme](self, state, now)
        return self._build(event_type(name), region.code, now, fields)

    def region_state(self, region: Region) -> RegionState:
        """The simulated history of ``region`` (created on first use)."""
        state = self.states.get(region.code)
        if state is None:
            # A province: the kecamatan of its first three kabupaten/kota are enough to simulate.
            districts = region_districts(region.code, per_province_regencies=3)
            state = self.states[region.code] = RegionState(region, districts)
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

    # -- what theme generators draw with --------------------------------------------------

    def choice(self, items: Sequence[Any]) -> Any:
        """One of ``items``, drawn from the run's random stream."""
        return items[self.rng.randrange(len(items))]

    def take(self, state: RegionState, kind: str) -> Any:
        """Removes and returns a random open item of ``kind`` (``None`` if there is none)."""
        items = state.open_items[kind]
        return items.pop(self.rng.randrange(len(items))) if items else None

    # -- people ------------------------------------------------------------------------------

    def person(self, state: RegionState, now: datetime, min_age: int, max_age: int,
               birth: date | None = None) -> Person:
        """A new synthetic person of a district of the region, aged ``min_age..max_age`` or born on ``birth``."""
        rng = self.rng
        district = self.choice(state.districts)
        if birth is None:
            birth = now.date() - timedelta(days=rng.randint(min_age * 365, max_age * 365 + 364))
        female = rng.random() < 0.5
        day = birth.day + (40 if female else 0)
        nik = f"{district.replace('.', '')}{day:02d}{birth.month:02d}{birth.year % 100:02d}{rng.randint(1, 9999):04d}"
        return Person(nik, birth, district)

    def person_fields(self, person: Person, now: datetime) -> dict[str, Any]:
        """The person's pseudonym and derived fields (sex, age band, district) as of ``now``."""
        assert self.pseudonymizer is not None
        return self.pseudonymizer.person(person.nik, on=now.date()).to_dict()


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


__all__ = ["generate_events", "EventGenerator", "parse_regions", "parse_themes", "DEFAULT_START", "PERSON_THEMES"]
