"""The event builder: plain fields or a typed event in, a validated, pseudonymized, encoded record out.

It needs no producer: the gateway, the importer and the simulator can build and
encode events with it alone (a :class:`~adapters.sdk.Publisher` owns one, as
``publisher.builder``). What it needs is the schema registry, once per event
type, for the schema id in the wire-format header.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Callable, NamedTuple

from adapters.metrics import REGISTRY_ERRORS
from adapters.privacy import NIK_FIELD, PERSON_FIELDS, Pseudonymizer
from adapters.privacy.exceptions import InvalidNikError
from adapters.sdk.codec import EventCodec
from adapters.sdk.exceptions import NotAnEventError
from bus.serde import AvroSerializer, RegistryError, make_registry_client
from schemas import EventType, SchemaValidationError, event_type as lookup_event_type
from schemas.base import EventModel

# Envelope values a caller may give as keyword arguments or as same-named fields.
_ENVELOPE_INPUTS = ("region_code", "source_system", "occurred_at", "event_id")
# Filled by the builder: a caller's value would be silently wrong.
_NOT_INPUTS = ("envelope", "produced_at", "schema_version")


class EncodedRecord(NamedTuple):
    """One event ready for ``produce``: where it goes, its bytes and its CloudEvents headers."""

    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, str]]
    event_id: str
    codec: EventCodec


class EventBuilder:
    """Builds and encodes the events of :mod:`schemas.models`.

    ``source_system`` is the envelope's default source; ``topic_for`` maps an
    :class:`~schemas.EventType` to its topic (tests redirect to private
    topics); ``auto_register=False`` only looks schemas up (the default unless
    ``settings.schema_auto_register``: a missing schema is a SchemaNotRegisteredError). A ``nik`` field is
    pseudonymized with ``pseudonymizer`` or, on first need, with the key of
    ``settings`` (:class:`MissingPseudonymKeyError` without one). Thread-safe.
    """

    def __init__(
        self,
        settings: Any,
        *,
        source_system: str = "egov-bus",
        registry: Any = None,
        pseudonymizer: Pseudonymizer | None = None,
        auto_register: bool | None = None,
        topic_for: Callable[[EventType], str] | None = None,
    ) -> None:
        self._settings = settings
        self.source_system = source_system
        self._registry = registry
        # Default: the settings' (off outside the dev stack: the operator registers schemas).
        self._auto_register = (bool(getattr(settings, "schema_auto_register", False)) if auto_register is None
                               else auto_register)
        self._topic_for = topic_for or (lambda et: et.topic)
        self._pseudonymizer = pseudonymizer
        #: model class -> codec; read without the lock on the hot path (a dict read is atomic).
        self.codecs: dict[type, EventCodec] = {}
        self._by_wire: dict[tuple[str, bytes], EventCodec] = {}
        self._lock = threading.Lock()

    # -- codecs ---------------------------------------------------------------------------

    def codec(self, event_type: EventType | str) -> EventCodec:
        """The (cached) codec of an event type; registers/looks up its schema on first use."""
        et = lookup_event_type(event_type) if isinstance(event_type, str) else event_type
        codec = self.codecs.get(et.model)
        if codec is not None:
            return codec
        with self._lock:
            codec = self.codecs.get(et.model)
            if codec is None:
                if self._registry is None:
                    self._registry = make_registry_client(self._settings)
                serializer = AvroSerializer(self._registry, et.avro_schema, auto_register=self._auto_register)
                try:
                    codec = EventCodec(et, serializer, self._topic_for(et))
                except RegistryError:
                    REGISTRY_ERRORS.labels("register" if self._auto_register else "lookup").inc()
                    raise
                self.codecs[et.model] = codec
                self._by_wire[codec.wire_key] = codec
        return codec

    def codec_of(self, event: Any) -> EventCodec:
        """The codec of a typed event; :class:`NotAnEventError` for anything else."""
        codec = self.codecs.get(event.__class__)
        if codec is not None:
            return codec
        if not isinstance(event, EventModel):
            raise NotAnEventError(
                f"publish() takes typed events from schemas.models, got {type(event).__name__}; "
                "build one with Publisher.build(event_type, fields)",
                got=type(event).__name__,
            )
        return self.codec(event.__class__.__name__)

    def codec_for_wire(self, topic: str, value: bytes | None) -> EventCodec | None:
        """The codec that encoded ``value`` for ``topic`` (from its wire header), if this builder's."""
        return self._by_wire.get((topic, value[:5] if value else b""))

    def warm(self, event_types: Iterable[EventType | str]) -> None:
        """Prepare codecs (and registry ids) now, so the first events do not wait on the registry."""
        for et in event_types:
            self.codec(et)

    # -- building and encoding ------------------------------------------------------------

    def build(
        self,
        event_type: EventType | str,
        fields: Mapping[str, Any],
        *,
        region_code: str | None = None,
        source_system: str | None = None,
        occurred_at: datetime | str | None = None,
        event_id: str | None = None,
    ) -> EventModel:
        """A validated typed event from plain fields (JSON-like values are fine).

        Envelope values come from the keyword arguments or from same-named keys
        in ``fields``. A ``nik`` key is replaced by ``nik_pseudonym`` and the
        derived fields the schema declares; building such an event without a
        pseudonym key raises :class:`MissingPseudonymKeyError`. Raises
        :class:`schemas.SchemaValidationError` naming each bad field. Needs no
        registry and no broker.
        """
        et = lookup_event_type(event_type) if isinstance(event_type, str) else event_type
        data = dict(fields)
        data.pop("event_type", None)  # the path or the caller already says which type
        not_inputs = sorted(k for k in _NOT_INPUTS if k in data)
        if not_inputs:
            raise SchemaValidationError(et.name, [
                {"loc": (k,), "msg": "is set by the publisher, not an input", "rule": "extra_forbidden"}
                for k in not_inputs
            ])
        given = {name: data.pop(name, None) for name in _ENVELOPE_INPUTS}
        occurred_at = occurred_at or given["occurred_at"]
        if NIK_FIELD in data:
            data = self._pseudonymize(et, data, occurred_at)
        return et.model.new(
            region_code=region_code or given["region_code"],
            source_system=source_system or given["source_system"] or self.source_system,
            occurred_at=occurred_at,
            event_id=event_id or given["event_id"],
            **data,
        )

    def encode(self, event: EventModel, traceparent: str | None = None) -> EncodedRecord:
        """The record of a typed event: raw-NIK guard, Avro value, key, CloudEvents headers.

        Raises :class:`RawNikError` or :class:`AvroEncodeError` for an event
        that must not or cannot be sent.
        """
        codec = self.codec_of(event)
        key, value, headers = codec.encode_record(event, traceparent)
        return EncodedRecord(codec.topic, key, value, headers, headers[0][1], codec)

    def record(self, event_type: EventType | str, fields: Mapping[str, Any], *, traceparent: str | None = None,
               **envelope: Any) -> EncodedRecord:
        """:meth:`build` then :meth:`encode`, for callers that start from plain fields."""
        return self.encode(self.build(event_type, fields, **envelope), traceparent)

    def _pseudonymize(self, et: EventType, data: dict[str, Any], occurred_at: Any) -> dict[str, Any]:
        wanted = [f for f in PERSON_FIELDS if f in et.model.model_fields]
        if "nik_pseudonym" not in wanted:
            raise SchemaValidationError(
                et.name, [{"loc": (NIK_FIELD,), "msg": f"{et.name} carries no person; remove the nik",
                           "rule": "extra_forbidden"}]
            )
        if self._pseudonymizer is None:
            self._pseudonymizer = Pseudonymizer.from_settings(self._settings, purpose=f"publishing {et.name} with a nik")
        when = occurred_at
        if isinstance(when, str):
            try:
                when = datetime.fromisoformat(when.replace("Z", "+00:00"))
            except ValueError:
                when = None  # the model reports the bad occurred_at
        try:
            return self._pseudonymizer.scrub(data, wanted, on=when if isinstance(when, datetime) else None)
        except InvalidNikError as exc:
            raise SchemaValidationError(
                et.name, [{"loc": (NIK_FIELD,), "msg": exc.message, "rule": str(exc.fields.get("rule", "nik"))}]
            ) from None
