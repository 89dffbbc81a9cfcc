"""The regional raw-NIK guard against the shared table (tests/schemas/nik_cases.py).

The central transform is held to the same rows in tests/processors/test_transform.py, so
an event the SDK lets through is not refused at the centre, and the reverse.
"""

from __future__ import annotations

import pytest
from confluent_kafka.schema_registry._sync.mock_schema_registry_client import MockSchemaRegistryClient

from adapters.privacy import RawNikError, check_no_raw_nik
from adapters.sdk.codec import EventCodec
from bus.serde import AvroSerializer
from schemas import event_type
from schemas.privacy import RAW_NIK_MESSAGE
from schemas.samples import sample_event
from tests.schemas.nik_cases import CASES, NikCase, list_cases, string_cases


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_the_regional_guard_refuses_exactly_the_shared_table_rows(case: NikCase) -> None:
    if case.refused:
        with pytest.raises(RawNikError) as info:
            check_no_raw_nik({"value": case.value})
        assert info.value.fields == {"loc": ("value", *case.refused_at), "rule": "raw_nik"}
        assert str(info.value).endswith(f": {RAW_NIK_MESSAGE}")
    else:
        check_no_raw_nik({"value": case.value})


@pytest.fixture(scope="module")
def codecs() -> dict[str, EventCodec]:
    registry = MockSchemaRegistryClient({"url": "mock://nik-table"})
    return {
        name: EventCodec(et, AvroSerializer(registry, et.avro_schema), et.topic)
        for name in ("ComplaintReceived", "DatasetPublished", "BirthRegistered")
        for et in [event_type(name)]
    }


def _refused_by_the_codec(codec: EventCodec, event) -> bool:
    try:
        codec.encode_record(event)
    except RawNikError:
        return True
    return False


def test_the_sdk_codec_refuses_exactly_the_shared_table_rows(codecs: dict[str, EventCodec]) -> None:
    # The SDK's own path: byte pre-filter over the encoded value, then the field scan. String rows in
    # a free-text field, list rows in an array<string> field (no contract has a map field).
    refused = {
        case.id for case in string_cases()
        if _refused_by_the_codec(codecs["ComplaintReceived"], sample_event("ComplaintReceived", category=case.value))
    } | {
        case.id for case in list_cases()
        if _refused_by_the_codec(codecs["DatasetPublished"], sample_event("DatasetPublished", keywords=case.value))
    }
    assert refused == {case.id for case in [*string_cases(), *list_cases()] if case.refused}


def test_the_codec_names_the_field_and_scans_the_envelope_too(codecs: dict[str, EventCodec]) -> None:
    with pytest.raises(RawNikError) as info:
        codecs["DatasetPublished"].encode_record(sample_event("DatasetPublished", keywords=["a", "NIK3201014501900001"]))
    assert str(info.value) == f"DatasetPublished.keywords[1]: {RAW_NIK_MESSAGE}"
    assert info.value.fields["loc"] == ("keywords", 1)
    # The central transform scans every string, the envelope's included; so does the SDK.
    with pytest.raises(RawNikError, match=r"^ComplaintReceived\.envelope\.source_system: "):
        codecs["ComplaintReceived"].encode_record(sample_event("ComplaintReceived", source_system="sys3201014501900001"))
    # A 64-hex pseudonym with a digit run is a hex identifier: not refused.
    codecs["BirthRegistered"].encode_record(sample_event("BirthRegistered", nik_pseudonym="1234567890123456" + "a" * 48))
