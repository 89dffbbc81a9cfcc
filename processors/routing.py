"""The router: rules as data (``routes.yaml``), matched on headers and key only."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

import schemas
from processors.exceptions import RoutingRulesError

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


def load_rules(path: Path | str | None = None) -> list[RoutingRule]:
    """Parse and check a rules file; errors name the rule and the field."""
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
                destination=str(raw["destination"]),
                themes=frozenset(themes) if themes is not None else None,
                event_types=frozenset(event_types) if event_types is not None else None,
                region_prefixes=tuple(str(p) for p in prefixes) if prefixes is not None else None,
            )
        )
    return rules


def destinations(rules: list[RoutingRule], theme: str, event_type: str, region_code: str) -> list[str]:
    """Every routed topic an event goes to."""
    return [r.target(theme, event_type, region_code) for r in rules if r.matches(theme, event_type, region_code)]
