"""What a subscriber counts: per instance (:class:`SubscriberStats`) and per process (Prometheus)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from prometheus_client import Counter

Outcome = Literal["event", "filtered", "undecodable"]

RECORDS = Counter(
    "egov_subscriber_records_total",
    "Records read by subscribers, by theme and outcome (event, filtered, undecodable).",
    ["theme", "outcome"],
)


@dataclass
class SubscriberStats:
    """Counts since the subscriber started."""

    events: int = 0
    filtered: int = 0
    undecodable: int = 0
    done: int = 0
    commits: int = 0

    def record(self, theme: str, outcome: Outcome) -> None:
        """Count one record read from ``theme``'s topic, here and in ``egov_subscriber_records_total``."""
        if outcome == "event":
            self.events += 1
        elif outcome == "filtered":
            self.filtered += 1
        else:
            self.undecodable += 1
        RECORDS.labels(theme, outcome).inc()
