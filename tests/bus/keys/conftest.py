"""A fresh, prefixed key register (``<prefix>.egov.keys``, as the catalogue makes it) on the plain test broker."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from schemas.topic_names import keys_topic
from topics.catalog import load_catalog
from topics.provision import apply


@pytest.fixture
def keys_prefix(admin) -> Iterator[str]:
    prefix = f"test.keys.{uuid.uuid4().hex[:10]}"
    report = apply(admin, load_catalog(prefix=prefix).select(["keys"]), timeout=15)
    assert report.created == [keys_topic(prefix)], report
    yield prefix
    for future in admin.delete_topics([keys_topic(prefix)], operation_timeout=30).values():
        future.result(timeout=60)
