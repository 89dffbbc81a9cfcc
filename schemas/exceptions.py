"""Errors of the ``schemas`` package (all :class:`bus.errors.EgovBusError`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bus.errors import EgovBusError


class SchemaError(EgovBusError):
    """Base class of every error about event contracts."""


class UnknownEventTypeError(SchemaError, KeyError):
    """An event type name that the catalogue does not know."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return self.message


class SchemaDefinitionError(SchemaError):
    """An ``.avsc`` file is malformed or breaks a project rule (missing doc, wrong name, ...)."""


class SchemaValidationError(SchemaError, ValueError):
    """An event (or envelope) does not satisfy its contract.

    ``errors`` lists every problem as ``{"loc": tuple path, "msg": str, "rule": str}``;
    the message names each field path and rule, e.g.
    ``BudgetAllocated: envelope.region_code: '99' is not a current Kemendagri region code [rule: current_region_code]``.
    """

    def __init__(self, model: str, errors: Iterable[Mapping[str, Any]]) -> None:
        self.errors: list[dict[str, Any]] = [
            {"loc": tuple(e["loc"]), "msg": str(e["msg"]), "rule": str(e["rule"])} for e in errors
        ]
        parts = [f"{format_loc(e['loc'])}: {e['msg']} [rule: {e['rule']}]" for e in self.errors]
        super().__init__(f"{model}: " + "; ".join(parts), model=model, errors=self.errors)

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["errors"] = [{**e, "loc": list(e["loc"])} for e in self.errors]
        return out


def format_loc(loc: Iterable[Any]) -> str:
    """``("envelope", "region_code")`` -> ``"envelope.region_code"``; list indexes as ``[i]``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(root)"


class CloudEventHeaderError(SchemaError):
    """Kafka headers do not carry a valid CloudEvents (binary mode) event; ``header`` and ``rule`` say which and why."""
