"""Unit tests for the simulated event stream: deterministic, valid, consistent."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest

from adapters.privacy import MissingPseudonymKeyError, Pseudonymizer
from adapters.simulator import DEFAULT_START, SimulatorConfigError, generate_events, parse_regions, parse_themes
from bus.errors import EgovBusError
from schemas import EVENT_TYPES, THEMES

PSEUDONYMIZER = Pseudonymizer("simulator-test-key-0123456789")


@pytest.fixture(scope="module")
def events() -> list:
    return list(generate_events(42, 30_000, pseudonymizer=PSEUDONYMIZER))


def test_same_seed_same_events_other_seed_other_events() -> None:
    first = [e.to_avro() for e in generate_events(7, 500, pseudonymizer=PSEUDONYMIZER)]
    again = [e.to_avro() for e in generate_events(7, 500, pseudonymizer=PSEUDONYMIZER)]
    other = [e.to_avro() for e in generate_events(8, 500, pseudonymizer=PSEUDONYMIZER)]
    assert first == again
    assert [e["envelope"]["event_id"] for e in first] != [e["envelope"]["event_id"] for e in other]


def test_prefix_property_a_longer_run_starts_with_the_shorter_one() -> None:
    short = [e.event_id for e in generate_events(3, 100, pseudonymizer=PSEUDONYMIZER)]
    long = [e.event_id for e in generate_events(3, 300, pseudonymizer=PSEUDONYMIZER)]
    assert long[:100] == short


def test_covers_all_regions_themes_and_event_types(events: list) -> None:
    assert len({e.region_code for e in events}) == 552
    assert {type(e).THEME for e in events} == set(THEMES)
    assert {type(e).__name__ for e in events} == set(EVENT_TYPES)
    assert len({e.event_id for e in events}) == len(events)


def test_times_advance_with_the_rate() -> None:
    stream = list(generate_events(1, 5, rate=4.0, pseudonymizer=PSEUDONYMIZER))
    assert [e.envelope.occurred_at - DEFAULT_START for e in stream] == [timedelta(milliseconds=250 * i)
                                                                       for i in range(5)]


def test_budgets_add_up(events: list) -> None:
    apbd: dict[str, Decimal] = {}
    allocated: dict[tuple, Decimal] = defaultdict(Decimal)
    realised: dict[tuple, Decimal] = defaultdict(Decimal)
    sp2d: dict[tuple, Decimal] = {}
    for e in events:
        name, region = type(e).__name__, e.region_code
        if name == "ApbdAdopted":
            assert region not in apbd  # adopted once
            apbd[region] = e.total_expenditure
        elif name == "BudgetAllocated":
            assert region in apbd, "an allocation before the APBD"
            allocated[(region, e.activity_code)] += e.amount
            assert sum(v for (r, _), v in allocated.items() if r == region) <= apbd[region]
        elif name == "Sp2dIssued":
            sp2d[(region, e.sp2d_number)] = e.amount
        elif name == "BudgetRealizationPosted":
            assert sp2d[(region, e.sp2d_number)] == e.amount  # realises exactly its earlier SP2D
            realised[(region, e.activity_code)] += e.amount
            assert realised[(region, e.activity_code)] <= allocated[(region, e.activity_code)]
    assert realised, "the run should realise some budget"


def test_lifecycles_refer_to_earlier_events_of_the_same_region(events: list) -> None:
    received: dict[tuple, object] = {}
    applied: dict[tuple, object] = {}
    closed: set[tuple] = set()
    for e in events:
        name, key = type(e).__name__, (e.region_code, getattr(e, "complaint_id", getattr(e, "permit_id", None)))
        if name == "ComplaintReceived":
            received[key] = e.envelope.occurred_at
        elif name in ("ComplaintForwarded", "ComplaintResolved"):
            assert key in received and key not in closed
            if name == "ComplaintResolved":
                assert e.received_at == received[key] <= e.envelope.occurred_at
                closed.add(key)
        elif name == "PermitApplied":
            applied[key] = e.envelope.occurred_at
        elif name in ("PermitIssued", "PermitRejected"):
            assert key in applied and key not in closed
            assert e.applied_at == applied[key] <= e.envelope.occurred_at
            closed.add(key)


def test_people_appear_only_as_pseudonyms(events: list) -> None:
    people = [e for e in events if hasattr(e, "nik_pseudonym")]
    assert people
    for e in people:
        assert re.fullmatch(r"[0-9a-f]{64}", e.nik_pseudonym)
    births = [e for e in events if type(e).__name__ == "BirthRegistered"]
    assert all(e.age_band == "0-4" and e.district_code.startswith(e.region_code + ".") for e in births)
    digits = re.compile(r"\d{16}")
    for e in events[:5000]:
        text = re.sub(r"[0-9a-f]{64}", "", repr(e.to_avro()))
        assert not digits.search(text), e


def test_region_and_theme_selection() -> None:
    chosen = list(generate_events(5, 300, regions="32,33.01", themes="budgeting,complaints"))
    assert {e.region_code for e in chosen} == {"32", "33.01"}
    assert {type(e).THEME for e in chosen} == {"budgeting", "complaints"}
    assert parse_regions("all")[:2] == ["11", "11.01"] and len(parse_regions(None)) == 552
    assert parse_themes(None) == list(THEMES)
    with pytest.raises(SimulatorConfigError, match="99"):
        parse_regions("32,99")
    with pytest.raises(SimulatorConfigError, match="nonsense"):
        parse_themes("nonsense")


def test_person_themes_need_a_pseudonym_key() -> None:
    with pytest.raises(MissingPseudonymKeyError):
        next(generate_events(1, 1, themes="population"))
    assert next(generate_events(1, 1, themes="budgeting")) is not None


def test_bad_rate_or_naive_start_is_a_config_error() -> None:
    with pytest.raises(SimulatorConfigError, match="rate must be positive") as bad_rate:
        next(generate_events(1, 1, themes="budgeting", rate=0))
    assert bad_rate.value.fields == {"rate": 0}
    with pytest.raises(SimulatorConfigError, match="start must be timezone-aware"):
        next(generate_events(1, 1, themes="budgeting", start=DEFAULT_START.replace(tzinfo=None)))
    assert isinstance(bad_rate.value, EgovBusError)
