"""The topic catalogue as data: ``topics/catalog.yaml`` loaded into typed objects.

``load_catalog()`` gives a :class:`Catalog` whose ``topics`` are
:class:`TopicSpec` (name, kind, partitions, config, event types). The event
types of theme and dead-letter topics come from :mod:`schemas` (the ``.avsc``
files are the one source of truth); the file checks that its theme topics and
the schemas agree.

``load_catalog(prefix="test.x")`` renames every topic to ``test.x.<name>`` so
that tests (and staging namespaces) apply the real catalogue without touching
the real topics.

The names follow the rules of :mod:`schemas.topic_names` (the file lists them
as data; :func:`load_catalog` refuses a name that breaks its kind's rule).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import yaml

import schemas
from schemas.regions import provinces
from schemas.topic_names import (
    PROVINCE_FEED_TEMPLATE,
    dlq_topic,
    audit_topic,
    keys_topic,
    ministry_feed_topic,
    parse_topic,
    prefixed,
    province_feed_topic,
    theme_topic,
    view_topic,
)
from topics.exceptions import CatalogError

CATALOG_FILE = Path(__file__).resolve().parent / "catalog.yaml"
Kind = Literal["theme", "dlq", "view", "routed", "keys", "audit"]
KINDS: tuple[Kind, ...] = ("theme", "dlq", "view", "routed", "keys", "audit")
# Broker-side settings whose production value can exceed a small cluster.
MIN_ISR = "min.insync.replicas"


@dataclass(frozen=True)
class TopicSpec:
    """One topic of the catalogue."""

    name: str
    kind: Kind
    partitions: int
    #: Kafka topic configs (string values), production values.
    config: Mapping[str, str]
    #: Event types (bare names) whose records the topic carries.
    event_types: tuple[str, ...] = ()
    theme: str | None = None
    doc: str = ""
    #: What the record key is (``<region_code>`` for events).
    key: str = "<region_code>"
    #: Source event types of a view (documentation).
    reads: tuple[str, ...] = ()
    replication_factor: int = 3
    #: The name in the catalogue file, before any prefix.
    base_name: str = ""

    def effective(self, brokers: int) -> tuple[int, dict[str, str], list[str]]:
        """Replication factor and config for a cluster of ``brokers`` brokers, with notes on clamping."""
        notes: list[str] = []
        rf = self.replication_factor
        if brokers < rf:
            notes.append(f"replication factor {rf} -> {brokers} ({brokers} broker{'s' if brokers != 1 else ''})")
            rf = brokers
        config = dict(self.config)
        if MIN_ISR in config and int(config[MIN_ISR]) > rf:
            notes.append(f"{MIN_ISR} {config[MIN_ISR]} -> {rf} (replication factor {rf})")
            config[MIN_ISR] = str(rf)
        return rf, config, notes


@dataclass(frozen=True)
class Catalog:
    """Every topic of the bus."""

    topics: tuple[TopicSpec, ...]
    replication_factor: int = 3
    prefix: str | None = None
    source: str = field(default=str(CATALOG_FILE), compare=False)

    def topic(self, name: str) -> TopicSpec:
        """The topic called ``name`` (its prefixed or its catalogue name)."""
        for t in self.topics:
            if name in (t.name, t.base_name):
                return t
        raise CatalogError(f"topic {name!r} is not in the catalogue", topic=name)

    def of_kind(self, *kinds: Kind) -> list[TopicSpec]:
        return [t for t in self.topics if t.kind in kinds]

    def theme_topic(self, theme: str) -> TopicSpec:
        for t in self.topics:
            if t.kind == "theme" and t.theme == theme:
                return t
        raise CatalogError(f"no theme topic for {theme!r}", theme=theme)

    def select(self, kinds: Iterable[Kind]) -> "Catalog":
        """A catalogue with only the given kinds of topics."""
        wanted = set(kinds)
        return replace(self, topics=tuple(t for t in self.topics if t.kind in wanted))

    def with_replication_factor(self, replication_factor: int) -> "Catalog":
        """The same catalogue with another production replication factor."""
        if replication_factor < 1:
            raise CatalogError("replication factor must be at least 1", replication_factor=replication_factor)
        return replace(
            self,
            replication_factor=replication_factor,
            topics=tuple(replace(t, replication_factor=replication_factor) for t in self.topics),
        )

    def with_min_insync_replicas(self, min_insync_replicas: int) -> "Catalog":
        """The same catalogue with another ``min.insync.replicas`` wherever it sets one."""
        if min_insync_replicas < 1:
            raise CatalogError("min.insync.replicas must be at least 1", min_insync_replicas=min_insync_replicas)
        return replace(self, topics=tuple(
            replace(t, config={**t.config, MIN_ISR: str(min_insync_replicas)}) if MIN_ISR in t.config else t
            for t in self.topics))

    def with_durability(self, replication_factor: int | None, min_insync_replicas: int | None) -> "Catalog":
        """The catalogue with the deployment's replication settings (``EGOV_TOPIC_REPLICATION_FACTOR``,
        ``EGOV_TOPIC_MIN_INSYNC_REPLICAS``); ``None`` keeps the catalogue's value."""
        catalog = self.with_replication_factor(replication_factor) if replication_factor else self
        return catalog.with_min_insync_replicas(min_insync_replicas) if min_insync_replicas else catalog


def _str_config(where: str, config: Any) -> dict[str, str]:
    if config is None:
        return {}
    if not isinstance(config, Mapping):
        raise CatalogError(f"{where}: config must be a mapping", where=where)
    out: dict[str, str] = {}
    for key, value in config.items():
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise CatalogError(f"{where}: config {key} must be a string (Kafka holds configs as strings)", where=where)
        out[str(key)] = str(value)
    return out


def _int(where: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise CatalogError(f"{where}: must be an integer >= {minimum}, got {value!r}", where=where)
    return value


_TOPIC_KEYS = {"name", "kind", "theme", "doc", "partitions", "config", "key", "reads", "event_types"}


def load_catalog(path: Path | str | None = None, *, prefix: str | None = None) -> Catalog:
    """Load and check the catalogue (``topics/catalog.yaml`` by default).

    ``prefix`` renames every topic ``<prefix>.<name>`` (tests, staging).
    """
    path = Path(path) if path else CATALOG_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogError(f"{path}: cannot read the catalogue: {exc}", path=str(path)) from exc
    if not isinstance(data, Mapping):
        raise CatalogError(f"{path}: must be a mapping", path=str(path))
    unknown = set(data) - {"replication_factor", "kinds", "topics", "routed"}
    if unknown:
        raise CatalogError(f"{path}: unknown keys {sorted(unknown)}", path=str(path))
    rf = _int("replication_factor", data.get("replication_factor", 3))
    kinds = data.get("kinds") or {}
    if set(kinds) != set(KINDS):
        raise CatalogError(f"{path}: kinds must define exactly {list(KINDS)}", path=str(path))
    defaults = {
        k: (_int(f"kinds.{k}.partitions", v.get("partitions")), _str_config(f"kinds.{k}", v.get("config"))) for k, v in kinds.items()
    }
    by_theme: dict[str, list[str]] = {}
    for et in schemas.EVENT_TYPES.values():
        by_theme.setdefault(et.theme, []).append(et.name)

    specs: list[TopicSpec] = []
    for i, raw in enumerate(data.get("topics") or []):
        where = f"topics[{i}]"
        if not isinstance(raw, Mapping) or "name" not in raw or "kind" not in raw:
            raise CatalogError(f"{path}: {where} needs at least name and kind", path=str(path))
        where = f"topic {raw['name']}"
        if set(raw) - _TOPIC_KEYS:
            raise CatalogError(f"{path}: {where}: unknown keys {sorted(set(raw) - _TOPIC_KEYS)}", path=str(path))
        kind = raw["kind"]
        if kind not in ("theme", "dlq", "view", "keys", "audit"):
            raise CatalogError(f"{path}: {where}: kind must be theme, dlq, view, keys or audit (routed topics go under routed:)")
        theme = raw.get("theme")
        if kind in ("theme", "dlq"):
            if theme not in schemas.THEMES:
                raise CatalogError(f"{path}: {where}: theme {theme!r} is not one of the 15 themes")
            expected = theme_topic(theme) if kind == "theme" else dlq_topic(theme)
            if raw["name"] != expected:
                raise CatalogError(f"{path}: {where}: a {kind} topic of {theme} must be called {expected}")
            if "event_types" in raw:
                raise CatalogError(f"{path}: {where}: event types of theme topics come from schemas/avro/{theme}/")
            event_types = tuple(by_theme.get(theme, ()))
        elif kind == "keys":
            # Not Avro: JSON key records, read before any schema (schemas.signing.KeyRecord).
            if raw["name"] != keys_topic():
                raise CatalogError(f"{path}: {where}: the keys' register must be called {keys_topic()}")
            event_types = ()
        elif kind == "audit":
            # Not Avro: JSON audit records signed by the centre (processors.audit.chain).
            if raw["name"] != audit_topic():
                raise CatalogError(f"{path}: {where}: the audit log must be called {audit_topic()}")
            event_types = ()
        else:
            parsed = parse_topic(str(raw["name"]))
            if parsed is None or parsed.kind != "view" or parsed.prefix is not None:
                raise CatalogError(f"{path}: {where}: a view topic must be called {view_topic('<view>')}")
            event_types = tuple(raw.get("event_types") or ())
        partitions, config = defaults[kind]
        specs.append(
            TopicSpec(
                name=raw["name"],
                base_name=raw["name"],
                kind=kind,
                partitions=_int(f"{where}.partitions", raw.get("partitions", partitions)),
                config={**config, **_str_config(where, raw.get("config"))},
                event_types=event_types,
                theme=theme,
                doc=str(raw.get("doc", "")),
                key=str(raw.get("key", "<region_code>")),
                reads=tuple(str(r) for r in raw.get("reads") or ()),
                replication_factor=rf,
            )
        )
    all_events = tuple(schemas.EVENT_TYPES)
    for i, raw in enumerate(data.get("routed") or []):
        where = f"routed[{i}]"
        if raw.get("for_each") is None and raw.get("themes"):
            # A single feed (e.g. a ministry's) carrying the events of some themes.
            themes = [str(t) for t in raw["themes"]]
            unknown_themes = sorted(set(themes) - set(schemas.THEMES))
            if unknown_themes:
                raise CatalogError(f"{path}: {where}: unknown themes {unknown_themes}")
            parsed = parse_topic(str(raw.get("name", "")))
            if parsed is None or parsed.kind != "ministry" or parsed.prefix is not None:
                raise CatalogError(f"{path}: {where}: a feed of some themes must be called {ministry_feed_topic('<ministry>')}")
            partitions, config = defaults["routed"]
            specs.append(
                TopicSpec(
                    name=str(raw["name"]),
                    base_name=str(raw["name"]),
                    kind="routed",
                    partitions=_int(f"{where}.partitions", raw.get("partitions", partitions)),
                    config={**config, **_str_config(where, raw.get("config"))},
                    event_types=tuple(n for n, et in schemas.EVENT_TYPES.items() if et.theme in themes),
                    doc=str(raw.get("doc", "")),
                    replication_factor=rf,
                )
            )
            continue
        if raw.get("for_each") != "province" or raw.get("name") != PROVINCE_FEED_TEMPLATE:
            raise CatalogError(f"{path}: {where}: needs for_each: province and the name {PROVINCE_FEED_TEMPLATE}")
        partitions, config = defaults["routed"]
        for p in provinces():
            name = province_feed_topic(p.code)
            specs.append(
                TopicSpec(
                    name=name,
                    base_name=name,
                    kind="routed",
                    partitions=_int(f"{where}.partitions", raw.get("partitions", partitions)),
                    config={**config, **_str_config(where, raw.get("config"))},
                    event_types=all_events,
                    doc=str(raw.get("doc", "")).format(province_code=p.code, province_name=p.name),
                    replication_factor=rf,
                )
            )

    names = [s.name for s in specs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise CatalogError(f"{path}: topics listed twice: {dupes}", path=str(path))
    for kind in ("theme", "dlq"):
        missing = sorted(set(schemas.THEMES) - {s.theme for s in specs if s.kind == kind})
        if missing:
            raise CatalogError(f"{path}: no {kind} topic for themes {missing}", path=str(path))
    if prefix:
        specs = [replace(s, name=prefixed(s.name, prefix)) for s in specs]
    return Catalog(topics=tuple(specs), replication_factor=rf, prefix=prefix, source=str(path))
