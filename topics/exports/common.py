"""What more than one export format needs: topic config values as typed scalars."""

from __future__ import annotations

from typing import Any


def config_value(value: str) -> Any:
    """A catalogue config value (always a string there) as the int or float it spells, else the string."""
    # AsyncAPI bindings and Strimzi resources type their configs; the catalogue keeps Kafka's strings.
    try:
        return int(value)
    except ValueError:
        try:
            return float(value)
        except ValueError:
            return value
