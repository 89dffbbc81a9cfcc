"""Client-side filters of a subscription: event types and a region prefix.

Filtering happens after decoding, in the subscriber: Kafka has no server-side
filter. Records passed over by a filter count as done (their offsets are
committed), so a narrow subscription still moves its consumer group forward.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from schemas import THEMES, EventType, event_type as lookup_event_type, events_of_theme
from schemas.exceptions import UnknownEventTypeError
from schemas.regions import normalize, region

from bus.subscriber.exceptions import InvalidFilterError, UnknownThemeError

_REGION_CODE = re.compile(r"\d{2}(?:\.\d{2})?")


def theme_event_types(themes: Sequence[str]) -> dict[str, list[EventType]]:
    """The event types of each theme; an unknown theme raises :class:`UnknownThemeError`."""
    if isinstance(themes, str):
        themes = [themes]
    if not themes:
        raise UnknownThemeError("subscribe to at least one theme", themes=list(THEMES))
    out: dict[str, list[EventType]] = {}
    for theme in themes:
        try:
            out[theme] = events_of_theme(theme)
        except UnknownEventTypeError:
            raise UnknownThemeError(
                f"unknown theme {theme!r}; the themes are: {', '.join(THEMES)}", theme=theme
            ) from None
    return out


def region_matches(region_code: str, prefix: str) -> bool:
    """True when ``region_code`` is ``prefix`` or lies under it (prefix on dotted parts: ``32`` covers ``32.01``)."""
    return region_code == prefix or region_code.startswith(prefix + ".")


def normalize_region_prefix(code: str) -> str:
    """The dotted code of a current province or kabupaten/kota (``"3201"`` -> ``"32.01"``)."""
    dotted = normalize(code.strip())
    if not _REGION_CODE.fullmatch(dotted) or region(dotted) is None:
        raise InvalidFilterError(
            f"{code!r} is not the code of a current province (32) or kabupaten/kota (32.01)", region=code
        )
    return dotted


@dataclass(frozen=True)
class EventFilter:
    """Which decoded events a subscription yields (None = everything)."""

    event_types: frozenset[str] | None = None
    region_prefix: str | None = None

    @classmethod
    def build(
        cls, themes: Sequence[str], event_types: Iterable[str] | None = None, region_prefix: str | None = None
    ) -> "EventFilter":
        """Validate the filters against the themes: a filter that can never match is an error."""
        by_theme = theme_event_types(themes)
        names: frozenset[str] | None = None
        if event_types:
            chosen: set[str] = set()
            for name in event_types:
                try:
                    et = lookup_event_type(name)
                except UnknownEventTypeError:
                    raise InvalidFilterError(f"unknown event type {name!r}", event_type=name) from None
                if et.theme not in by_theme:
                    raise InvalidFilterError(
                        f"event type {et.name} belongs to theme {et.theme!r}, not to {', '.join(by_theme)}",
                        event_type=et.name,
                        theme=et.theme,
                    )
                chosen.add(et.name)
            names = frozenset(chosen)
        prefix = normalize_region_prefix(region_prefix) if region_prefix else None
        return cls(event_types=names, region_prefix=prefix)

    def accepts(self, event_type: str, region_code: str) -> bool:
        if self.event_types is not None and event_type not in self.event_types:
            return False
        if self.region_prefix is not None and not region_matches(region_code, self.region_prefix):
            return False
        return True
