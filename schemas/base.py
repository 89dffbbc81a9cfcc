"""Base classes of the generated event models (:mod:`schemas.models`).

Construction (``Model(...)``, ``Model.new(...)``, ``Model.model_validate``,
``Model.from_avro``, ``Model.validate_event``) raises
:class:`schemas.SchemaValidationError` instead of pydantic's ``ValidationError``,
so callers catch one class; a string field holding a control character is
reported with the rule ``control_character`` (see :mod:`schemas.types`). Cross-field rules (event type matches the model,
district inside the publishing region, occurred_at not after produced_at) run
as pydantic model validators, so they also apply where pydantic validates on
its own (FastAPI request bodies).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from schemas.exceptions import SchemaValidationError
from schemas.types import CONTROL_CHARACTER_RULE, control_character_message

# Clocks of regional servers drift; an occurred_at a little after produced_at is skew, not an error.
CLOCK_SKEW = timedelta(minutes=5)


def _convert(model: str, exc: ValidationError) -> SchemaValidationError:
    errors: list[dict[str, Any]] = []
    for e in exc.errors(include_url=False):
        loc = tuple(e["loc"])
        ctx = e.get("ctx") or {}
        # A nested model (the envelope) validates through its own __init__, so its
        # errors arrive wrapped as one value_error: unwrap them under the parent's path.
        nested = ctx.get("error")
        if isinstance(nested, SchemaValidationError):
            errors.extend({**n, "loc": loc + tuple(n["loc"])} for n in nested.errors)
            continue
        # Model-level rules name the field they are about in their context.
        if "field" in ctx:
            loc = loc + tuple(str(ctx["field"]).split("."))
        # A control character is the reason, whatever else the field's own rule found: every
        # string type refuses it (Text by its pattern, codes and enums by their shape), and
        # the same rule name everywhere tells a sender what to clean.
        value = e.get("input")
        control = control_character_message(value) if value.__class__ is str else None
        if control is not None:
            errors.append({"loc": loc, "msg": control, "rule": CONTROL_CHARACTER_RULE})
            continue
        errors.append({"loc": loc, "msg": e["msg"], "rule": e["type"]})
    return SchemaValidationError(model, errors)


class AvroModel(BaseModel):
    """A pydantic model generated from an Avro record."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=False)

    #: Full Avro name of the record, e.g. ``id.go.egov.budgeting.BudgetAllocated``.
    RECORD_NAME: ClassVar[str] = ""

    def __init__(self, /, **data: Any) -> None:
        __tracebackhide__ = True
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise _convert(type(self).__name__, exc) from None

    # Tells pydantic this __init__ only wraps BaseModel's: validation (validate_python,
    # nested envelopes) then stays in pydantic-core instead of calling back into Python
    # for every nested model; about 2x faster for the processors' validate stage.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    @classmethod
    def model_validate(cls, obj: Any, **kwargs: Any) -> Self:  # type: ignore[override]
        try:
            return super().model_validate(obj, **kwargs)
        except ValidationError as exc:
            raise _convert(cls.__name__, exc) from None

    @classmethod
    def model_validate_json(cls, json_data: str | bytes | bytearray, **kwargs: Any) -> Self:  # type: ignore[override]
        try:
            return super().model_validate_json(json_data, **kwargs)
        except ValidationError as exc:
            raise _convert(cls.__name__, exc) from None

    @classmethod
    def validate_event(cls, data: Mapping[str, Any]) -> Self:
        """Validate a plain dict (JSON-like or Avro-decoded); raises :class:`SchemaValidationError`."""
        return cls.model_validate(data)

    def to_avro(self) -> dict[str, Any]:
        """The record as fastavro writes it: UTC-aware datetimes, ``Decimal`` money, uuid as ``str``."""
        return self.model_dump(mode="python")

    @classmethod
    def from_avro(cls, record: Mapping[str, Any]) -> Self:
        """A model from a decoded Avro record.

        Fields the model does not know (written by a newer schema version) are
        ignored, as Avro schema resolution would; everything else is validated.
        """
        return cls.model_validate(_known_fields(cls, record))


def _known_fields(cls: type[BaseModel], record: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in record.items():
        field = cls.model_fields.get(name)
        if field is None:
            continue
        sub = field.annotation
        if isinstance(sub, type) and issubclass(sub, BaseModel) and isinstance(value, Mapping):
            value = _known_fields(sub, value)
        out[name] = value
    return out


class EnvelopeBase(AvroModel):
    """Base of the generated ``Envelope``: checks that only make sense across fields."""

    @model_validator(mode="after")
    def _occurred_before_produced(self) -> Self:
        occurred: datetime = getattr(self, "occurred_at")
        produced: datetime = getattr(self, "produced_at")
        if occurred > produced + CLOCK_SKEW:
            raise PydanticCustomError(
                "occurred_before_produced",
                "occurred_at {occurred} is after produced_at {produced} (more than {skew} clock skew)",
                {"field": "occurred_at", "occurred": occurred.isoformat(), "produced": produced.isoformat(), "skew": str(CLOCK_SKEW)},
            )
        return self


class EventModel(AvroModel):
    """Base of every generated event model: an ``envelope`` first, then the event's fields."""

    #: Theme slug of the event (``budgeting``).
    THEME: ClassVar[str] = ""

    @model_validator(mode="after")
    def _envelope_matches(self) -> Self:
        envelope = getattr(self, "envelope")
        name = type(self).__name__
        if envelope.event_type != name:
            raise PydanticCustomError(
                "event_type_matches_model",
                "envelope.event_type is '{actual}' but the record is a {expected}",
                {"field": "envelope.event_type", "actual": envelope.event_type, "expected": name},
            )
        district = getattr(self, "district_code", None)
        if district is not None and not district.startswith(envelope.region_code + "."):
            raise PydanticCustomError(
                "district_in_region",
                "district '{district}' does not lie inside the publishing region '{region}'",
                {"field": "district_code", "district": district, "region": envelope.region_code},
            )
        return self

    @classmethod
    def new(
        cls,
        *,
        region_code: str,
        source_system: str,
        occurred_at: datetime,
        event_id: str | uuid.UUID | None = None,
        produced_at: datetime | None = None,
        **fields: Any,
    ) -> Self:
        """A new event with a fresh envelope (uuid4 ``event_id``, ``produced_at`` now, UTC)."""
        envelope = {
            "event_id": str(event_id or uuid.uuid4()),
            "event_type": cls.__name__,
            "region_code": region_code,
            "source_system": source_system,
            "occurred_at": occurred_at,
            "produced_at": produced_at or datetime.now(timezone.utc),
        }
        return cls(envelope=envelope, **fields)

    @property
    def event_id(self) -> str:
        """Shortcut for ``envelope.event_id``."""
        return getattr(self, "envelope").event_id

    @property
    def region_code(self) -> str:
        """Shortcut for ``envelope.region_code`` (also the record key)."""
        return getattr(self, "envelope").region_code
