"""What the OpenAPI document says about the ingest routes: request bodies and answers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from adapters.privacy import NIK_FIELD, PERSON_FIELDS
from schemas import EventType

RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"description": "Accepted: acknowledged by the broker (`acked`) or durably spooled (`spooled`)",
          "content": {"application/json": {"schema": {"type": "object", "properties": {
              "event_id": {"type": "string"}, "status": {"type": "string", "enum": ["acked", "spooled"]}}}}}},
    401: {"description": "Missing or unknown API key"},
    403: {"description": "region_code is not the API key's region"},
    413: {"description": "Body over the size limit"},
    422: {"description": "Invalid event; `detail` lists each field path (`loc`), message and rule (`type`)"},
    429: {"description": "The API key's rate limit is exceeded; retry after `Retry-After` seconds",
          "headers": {"Retry-After": {"description": "Seconds until the key has tokens for this request",
                                      "schema": {"type": "integer", "minimum": 1}}}},
    503: {"description": "Spool full or broker not answering; retry later with the same event_id"},
}


def request_schema(et: EventType) -> dict[str, Any]:
    """JSON schema of the request body for one event type (flat: fields + envelope inputs)."""
    full = et.model.model_json_schema()
    properties = {k: v for k, v in full["properties"].items() if k != "envelope"}
    required = [r for r in full.get("required", []) if r != "envelope"]
    properties = {
        "occurred_at": {"type": "string", "format": "date-time",
                        "description": "When the fact happened (RFC 3339 with offset)."},
        "region_code": {"type": "string", "description": "Kemendagri code of the publishing region; defaults to the "
                                                         "API key's region and must equal it."},
        "source_system": {"type": "string", "description": "Name of the regional system (letters, digits, . _ -)."},
        "event_id": {"type": "string", "format": "uuid",
                     "description": "Optional UUID; resend the same one when retrying (idempotency key)."},
        **properties,
    }
    required = ["occurred_at", *required]
    if "nik_pseudonym" in properties:
        properties[NIK_FIELD] = {
            "type": "string", "pattern": "^[0-9]{16}$",
            "description": "The person's NIK: pseudonymized at the gateway, never stored or forwarded. Give either "
                           "nik or nik_pseudonym with the derived fields.",
        }
        required = [r for r in required if r not in PERSON_FIELDS]
    return {"type": "object", "title": f"{et.name}Request", "description": et.doc, "properties": properties,
            "required": required, "additionalProperties": False}


def batch_request_schema(type_names: Iterable[str], max_events: int) -> dict[str, Any]:
    """JSON schema of the ``/v1/batch`` body: up to ``max_events`` events, each naming its type."""
    return {
        "type": "object", "required": ["events"], "additionalProperties": False,
        "properties": {"events": {"type": "array", "minItems": 1, "maxItems": max_events,
                                  "items": {"type": "object", "required": ["event_type"],
                                            "properties": {"event_type": {"type": "string",
                                                                          "enum": sorted(type_names)}}}}}}
