import pytest

from bus.subscriber import EventFilter, InvalidFilterError, UnknownThemeError, region_matches
from bus.subscriber.filters import normalize_region_prefix, theme_event_types


@pytest.mark.parametrize(
    ("code", "prefix", "expected"),
    [
        ("32", "32", True),
        ("32.01", "32", True),
        ("32.01", "32.01", True),
        ("32.71", "32.01", False),
        ("33.01", "3", False),  # prefix on dotted parts, not on characters
        ("32.01", "32.0", False),
        ("31", "32", False),
    ],
)
def test_region_matches(code, prefix, expected):
    assert region_matches(code, prefix) is expected


def test_region_prefix_is_normalized_and_checked():
    assert normalize_region_prefix("3201") == "32.01"
    assert normalize_region_prefix("32") == "32"
    for bad in ("99", "32.99", "32.01.01", "abc", ""):
        with pytest.raises(InvalidFilterError):
            normalize_region_prefix(bad)


def test_filter_accepts():
    f = EventFilter.build(["complaints"], ["ComplaintReceived"], "32")
    assert f.event_types == frozenset({"ComplaintReceived"})
    assert f.accepts("ComplaintReceived", "32.01")
    assert not f.accepts("ComplaintResolved", "32.01")
    assert not f.accepts("ComplaintReceived", "33.01")
    assert EventFilter.build(["complaints"]).accepts("ComplaintResolved", "91.01")


def test_filter_accepts_cloudevents_and_full_names():
    f = EventFilter.build(["budgeting"], ["id.go.egov.budgeting.BudgetAllocated"])
    assert f.event_types == frozenset({"BudgetAllocated"})


def test_event_type_of_another_theme_is_refused():
    with pytest.raises(InvalidFilterError, match="belongs to theme 'budgeting'"):
        EventFilter.build(["complaints"], ["BudgetAllocated"])
    with pytest.raises(InvalidFilterError, match="unknown event type"):
        EventFilter.build(["complaints"], ["NoSuchEvent"])


def test_unknown_theme():
    with pytest.raises(UnknownThemeError, match="unknown theme 'nosuch'; the themes are: planning"):
        theme_event_types(["complaints", "nosuch"])
    with pytest.raises(UnknownThemeError):
        theme_event_types([])
    assert list(theme_event_types("complaints")) == ["complaints"]
