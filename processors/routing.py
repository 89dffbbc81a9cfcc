"""The router: rules as data (``routes.yaml``), matched on headers and key only.

The shipped destinations are the feeds of :mod:`schemas.topic_names` (province and
ministry feeds, listed in the catalogue); ``load_rules(prefix=...)`` applies its
one prefixing rule to every destination.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

import schemas
from processors.exceptions import RoutingRulesError
from schemas.cloudevents import HEADER_TYPE, header_value, parse_ce_type
from schemas.topic_names import prefixed

DEFAULT_RULES = Path(__file__).with_name("routes.yaml")
_FIELDS = {"name", "doc", "themes", "event_types", "region_prefixes", "destination"}


@dataclass(frozen=True)
class RoutingRule:
    """Send matching events to ``destination`` (a template)."""

    name: str
    destination: str
    themes: frozenset[str] | None = None
    event_types: frozenset[str] | None = None
    region_prefixes: tuple[str, ...] | None = None

    def matches(self, theme: str, event_type: str, region_code: str) -> bool:
        if self.themes is not None and theme not in self.themes:
            return False
        if self.event_types is not None and event_type not in self.event_types:
            return False
        if self.region_prefixes is not None and not any(
            region_code == p or region_code.startswith(p + ".") for p in self.region_prefixes
        ):
            return False
        return True

    def target(self, theme: str, event_type: str, region_code: str) -> str:
        return self.destination.format(
            province_code=region_code.split(".")[0], region_code=region_code, theme=theme, event_type=event_type
        )


def load_rules(path: Path | str | None = None, *, prefix: str | None = None) -> list[RoutingRule]:
    """Parse and check a rules file; errors name the rule and the field.

    ``prefix`` puts every destination under ``<prefix>.`` (prefixed test topics).
    """
    path = Path(path or DEFAULT_RULES)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise RoutingRulesError(f"cannot read routing rules {path}: {exc}", path=str(path)) from exc
    rules = []
    for i, raw in enumerate(data.get("rules") or []):
        where = f"{path}: rules[{i}]"
        unknown = set(raw) - _FIELDS
        if unknown:
            raise RoutingRulesError(f"{where}: unknown fields {sorted(unknown)}; allowed: {sorted(_FIELDS)}")
        if not raw.get("name") or not raw.get("destination"):
            raise RoutingRulesError(f"{where}: needs name and destination")
        themes = raw.get("themes")
        if themes is not None and set(themes) - set(schemas.THEMES):
            raise RoutingRulesError(f"{where}: unknown themes {sorted(set(themes) - set(schemas.THEMES))}")
        event_types = raw.get("event_types")
        if event_types is not None and set(event_types) - set(schemas.EVENT_TYPES):
            raise RoutingRulesError(f"{where}: unknown event types {sorted(set(event_types) - set(schemas.EVENT_TYPES))}")
        prefixes = raw.get("region_prefixes")
        rules.append(
            RoutingRule(
                name=str(raw["name"]),
                destination=prefixed(str(raw["destination"]), prefix),
                themes=frozenset(themes) if themes is not None else None,
                event_types=frozenset(event_types) if event_types is not None else None,
                region_prefixes=tuple(str(p) for p in prefixes) if prefixes is not None else None,
            )
        )
    return rules


def destinations(rules: list[RoutingRule], theme: str, event_type: str, region_code: str) -> list[str]:
    """Every routed topic an event goes to."""
    return [r.target(theme, event_type, region_code) for r in rules if r.matches(theme, event_type, region_code)]


def _parse_ce_type(ce_type: str) -> tuple[str, str] | None:
    """``id.go.egov.<theme>.<EventName>.v<N>`` -> ``(theme, EventName)``; None when not one of ours."""
    parsed = parse_ce_type(ce_type)
    if parsed is None:
        return None
    theme, name, _version = parsed
    et = schemas.EVENT_TYPES.get(name)
    if et is None or et.theme != theme:
        return None
    return theme, name


class Router:
    """Routing decisions from a record's ``ce_type`` header and its key, never its value.

    ``region_of_key`` maps the key to the region the rules see (the
    transformer's legacy-code mapping, so an old Papua code routes to its
    current province). Decisions are cached per ``(ce_type, key)``: 552
    regions x a few dozen event types.
    """

    def __init__(self, rules: list[RoutingRule], region_of_key=lambda code: code) -> None:
        self.rules = rules
        self._region_of_key = region_of_key
        self._cache: dict[tuple[bytes, bytes], tuple[str, ...]] = {}

    def route(self, headers: list[tuple[str, bytes]] | None, key: bytes | None) -> tuple[str, ...]:
        """Destination topics of a record; empty when headers or key do not identify an event."""
        ce_type = header_value(headers, HEADER_TYPE)
        if ce_type is None or key is None:
            return ()
        cached = self._cache.get((ce_type, key))
        if cached is not None:
            return cached
        try:
            parsed = _parse_ce_type(ce_type.decode())
            region = self._region_of_key(key.decode())
        except (UnicodeDecodeError, AttributeError):
            parsed = None
        out = tuple(destinations(self.rules, parsed[0], parsed[1], region)) if parsed else ()
        if len(self._cache) < 100_000:
            self._cache[(ce_type, key)] = out
        return out
