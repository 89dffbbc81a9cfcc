"""Errors of the Avro serde. Each carries the fields a DLQ header needs."""

from bus.errors import EgovBusError


class SerdeError(EgovBusError):
    """Base class: a value could not be encoded or decoded."""


class WireFormatError(SerdeError):
    """The bytes are not in the Confluent wire format (wrong magic byte, too short)."""


class TruncatedPayloadError(SerdeError):
    """The Avro body ended before the writer schema said it would."""


class UnknownSchemaError(SerdeError):
    """The registry does not know the schema id (or subject, or version) asked for: its 404."""


class AvroDecodeError(SerdeError):
    """The Avro body does not decode with its writer schema."""


class AvroEncodeError(SerdeError):
    """A value does not fit the schema (missing field, wrong type, too many digits)."""


class RegistryError(SerdeError):
    """The schema registry refused a request or could not be reached in time."""


class RegistryUnavailableError(RegistryError):
    """The schema registry did not answer (nothing listening, a timeout, a name that does not resolve)."""


class SchemaNotRegisteredError(UnknownSchemaError):
    """A publisher that may only look schemas up found its schema missing (the operator registers schemas)."""
