"""Unit tests for the registry of theme generators: one per theme, each drawing only its theme's events."""

from __future__ import annotations

import pytest

from adapters.privacy import Pseudonymizer
from adapters.simulator import generate_events
from adapters.simulator.themes import GENERATORS
from schemas import THEMES, events_of_theme

PSEUDONYMIZER = Pseudonymizer("simulator-test-key-0123456789")


def test_every_theme_has_exactly_one_generator() -> None:
    assert sorted(GENERATORS) == sorted(THEMES)
    assert all(callable(g) for g in GENERATORS.values())


# Without budgeting there is nothing to realise: treasury alone issues SP2Ds not tied to allocations.
ALONE = {theme: {et.name for et in events_of_theme(theme)} for theme in THEMES}
ALONE["treasury"] = {"Sp2dIssued"}


@pytest.mark.parametrize("theme", THEMES)
def test_a_theme_generator_draws_the_event_types_of_its_theme(theme: str) -> None:
    names = {type(e).__name__ for e in generate_events(13, 600, themes=theme, pseudonymizer=PSEUDONYMIZER)}
    assert names == ALONE[theme]


def test_budgeting_and_treasury_together_draw_every_event_type_of_both() -> None:
    names = {type(e).__name__ for e in generate_events(13, 1200, themes="budgeting,treasury")}
    assert names == {et.name for theme in ("budgeting", "treasury") for et in events_of_theme(theme)}
