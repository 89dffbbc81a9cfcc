"""Valid sample events for every event type, derived from the schemas.

Used by tests, by the catalogue exports (examples) and by anyone who needs a
well-formed event quickly. Values follow the field's type (see
:mod:`schemas.types`), so a new field gets a sample without code changes.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from schemas.base import EventModel
from schemas.codegen import python_type
from schemas.event_types import event_type

SAMPLE_REGION = "32.01"  # Kabupaten Bogor
SAMPLE_DISTRICT = "32.01.01"  # Cibinong
SAMPLE_TIME = datetime(2025, 3, 14, 2, 30, 0, tzinfo=timezone.utc)
# Not a real pseudonym key: a fixed digest so samples are reproducible.
SAMPLE_PSEUDONYM = hashlib.sha256(b"egov-bus sample person").hexdigest()


def _value(type_source: str, name: str, region_code: str) -> Any:
    base = type_source.removesuffix(" | None")
    if base.startswith("list["):
        return [_value(base[5:-1], name, region_code)]
    if base.startswith("Literal["):
        return base[len("Literal[") :].split(",")[0].strip().strip("'\"")
    if base == "Sex":
        return "L"
    return {
        "Money": Decimal("1500000.00"),
        "UtcDatetime": SAMPLE_TIME,
        "date": date(2025, 3, 14),
        "Uuid": str(uuid.UUID(int=1)),
        "FiscalYear": 2025,
        "RegionCode": region_code,
        "DistrictCode": (region_code + ".01") if region_code.count(".") == 1 else region_code + ".01.01",
        "NikPseudonym": SAMPLE_PSEUDONYM,
        "AgeBand": "25-29",
        "SourceSystem": "sipd",
        # One agency of the Dinas Kesehatan's budget: program, activity and sub-activity nest.
        "AgencyCode": "1.02.0.00.0.00.01.0000",
        "ProgramCode": "1.02.02",
        "ActivityCode": "1.02.02.2.01",
        "SubActivityCode": "1.02.02.2.01.0001",
        "Text": f"{name}-1",
        "AvroInt": 1,
        "AvroLong": 1,
        "Double": 87.5,
        "bool": False,
    }[base]


def sample_fields(name: str, region_code: str = SAMPLE_REGION) -> dict[str, Any]:
    """Field values (without the envelope) for a valid ``name`` event; optional fields are filled too."""
    et = event_type(name)
    out: dict[str, Any] = {}
    for f in et.avro_schema["fields"][1:]:
        out[f["name"]] = _value(python_type(f["name"], f["type"], {"id.go.egov.common.Sex": {"name": "Sex"}}, name), f["name"], region_code)
    return out


def sample_event(
    name: str, *, region_code: str = SAMPLE_REGION, source_system: str = "sipd", event_id: str | None = None, **overrides: Any
) -> EventModel:
    """A valid event of type ``name`` with deterministic values (``overrides`` replace fields)."""
    et = event_type(name)
    fields = {**sample_fields(name, region_code), **overrides}
    return et.model.new(
        region_code=region_code,
        source_system=source_system,
        occurred_at=SAMPLE_TIME,
        produced_at=SAMPLE_TIME,
        event_id=event_id or str(uuid.uuid5(uuid.NAMESPACE_URL, f"egov-bus:sample:{name}")),
        **fields,
    )
