"""Topic names: the one place where the bus's naming rules are written.

Both sides of the bus agree on these names, so they are part of the contract::

    egov.<theme>.events                  a theme's events (regional publishers write here)
    egov.<theme>.dlq                     its dead letters (the central pipeline writes them)
    egov.view.<view>                     a central view's rows (compacted)
    egov.province.<province_code>.events a province's feed (routed)
    egov.ministry.<ministry>.events      a ministry's feed (routed)
    <app id>-views-changelog             the processors' state changelog (as Kafka Streams names them)
    egov.keys                            the regions' public signing keys (compacted; key = key id)
    egov.audit.log                       the centre's audit chain (append-only; key = <topic>:<partition>)

and one prefixing rule for tests and staging namespaces: ``<prefix>.<name>``
(:func:`prefixed`). Every builder takes an optional ``prefix``; every other
module imports these instead of writing a name itself. The catalogue
(``topics/catalog.yaml``) and the routing rules (``processors/routes.yaml``) list
concrete topics as data and are checked against :func:`parse_topic`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

#: The first label of every bus topic.
ROOT = "egov"
#: Template of the province feeds (``{province_code}`` filled per province), as the catalogue writes it.
PROVINCE_FEED_TEMPLATE = f"{ROOT}.province.{{province_code}}.events"

TopicKind = Literal["theme", "dlq", "view", "province", "ministry", "keys", "audit"]

_EVENTS = ".events"
_DLQ = ".dlq"
# Anchored at the end, not the start: a prefixed name (``test.x.egov.budgeting.events``) parses too.
_NAMES: tuple[tuple[TopicKind, re.Pattern[str]], ...] = (
    ("view", re.compile(rf"{ROOT}\.view\.(?P<part>[a-z][a-z0-9_]*)")),
    ("province", re.compile(rf"{ROOT}\.province\.(?P<part>\d{{2}})\.events")),
    ("ministry", re.compile(rf"{ROOT}\.ministry\.(?P<part>[a-z][a-z0-9_-]*)\.events")),
    ("theme", re.compile(rf"{ROOT}\.(?P<part>[a-z]+)\.events")),
    ("dlq", re.compile(rf"{ROOT}\.(?P<part>[a-z]+)\.dlq")),
    ("keys", re.compile(rf"{ROOT}\.(?P<part>keys)")),
    ("audit", re.compile(rf"{ROOT}\.(?P<part>audit)\.log")),
)


def prefixed(name: str, prefix: str | None = None) -> str:
    """``<prefix>.<name>``; ``name`` itself when there is no prefix (``None`` or ``""``)."""
    return f"{prefix}.{name}" if prefix else name


def theme_topic(theme: str, prefix: str | None = None) -> str:
    """``egov.<theme>.events``: the events of one theme."""
    return prefixed(f"{ROOT}.{theme}{_EVENTS}", prefix)


def dlq_topic(theme: str, prefix: str | None = None) -> str:
    """``egov.<theme>.dlq``: the dead letters of one theme."""
    return prefixed(f"{ROOT}.{theme}{_DLQ}", prefix)


def dlq_topic_for(topic: str) -> str:
    """The dead-letter topic of a record read from ``topic``, prefix kept.

    ``[<prefix>.]egov.<theme>.events`` -> ``[<prefix>.]egov.<theme>.dlq``; any other
    name gets ``.dlq`` appended (a dead letter is never lost for want of a name).
    """
    return topic[: -len(_EVENTS)] + _DLQ if topic.endswith(_EVENTS) else topic + _DLQ


def view_topic(view: str, prefix: str | None = None) -> str:
    """``egov.view.<view>``: the compacted rows of one central view."""
    return prefixed(f"{ROOT}.view.{view}", prefix)


def province_feed_topic(province_code: str, prefix: str | None = None) -> str:
    """``egov.province.<province_code>.events``: a province's events and its kabupaten/kota's."""
    return prefixed(PROVINCE_FEED_TEMPLATE.format(province_code=province_code), prefix)


def ministry_feed_topic(ministry: str, prefix: str | None = None) -> str:
    """``egov.ministry.<ministry>.events``: the feed of one ministry (some themes, every region)."""
    return prefixed(f"{ROOT}.ministry.{ministry}{_EVENTS}", prefix)


def changelog_topic(app_id: str, prefix: str | None = None) -> str:
    """``<app id>-views-changelog``: the processors' state (Kafka Streams' ``<app>-<store>-changelog``)."""
    return prefixed(f"{app_id}-views-changelog", prefix)


def keys_topic(prefix: str | None = None) -> str:
    """``egov.keys``: the register of the regions' public signing keys (one record per key id)."""
    return prefixed(f"{ROOT}.keys", prefix)


def audit_topic(prefix: str | None = None) -> str:
    """``egov.audit.log``: the processors' signed audit chain, one record per committed interval and theme partition."""
    return prefixed(f"{ROOT}.audit.log", prefix)


@dataclass(frozen=True)
class TopicName:
    """A bus topic name taken apart: its kind, the varying part and any prefix."""

    kind: TopicKind
    #: The theme (theme, dlq), view, province code or ministry (``keys`` for the keys' register, ``audit`` for the audit log).
    part: str
    prefix: str | None = None


def parse_topic(name: str) -> TopicName | None:
    """What a topic name is (:class:`TopicName`), or None when it follows none of the rules.

    ``parse_topic("t.egov.view.budget_absorption") == TopicName("view", "budget_absorption", "t")``.
    Theme names are not checked against the list of themes (that list is
    :data:`schemas.THEMES`; callers that need it check it).
    """
    for kind, pattern in _NAMES:
        for start in _label_starts(name):
            match = pattern.fullmatch(name, start)
            if match is not None:
                return TopicName(kind, match.group("part"), name[: start - 1] if start else None)
    return None


def _label_starts(name: str) -> list[int]:
    # Where a name without prefix could begin: at 0, or after a dot.
    return [0] + [i + 1 for i, c in enumerate(name) if c == "."]


__all__ = [
    "ROOT",
    "PROVINCE_FEED_TEMPLATE",
    "TopicKind",
    "TopicName",
    "prefixed",
    "theme_topic",
    "dlq_topic",
    "dlq_topic_for",
    "view_topic",
    "province_feed_topic",
    "ministry_feed_topic",
    "changelog_topic",
    "keys_topic",
    "audit_topic",
    "parse_topic",
]
