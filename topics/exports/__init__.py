"""Exports of the catalogue: AsyncAPI 3.0, Strimzi ``KafkaTopic`` and ``KafkaUser`` resources, a Markdown catalogue.

All are pure functions of the catalogue, the schemas and the ACL policy (no
cluster, no registry), deterministic, so generated files can be checked for
staleness. One module per format: :mod:`.asyncapi_doc`, :mod:`.strimzi`,
:mod:`.strimzi_users`, :mod:`.markdown_doc`;
:mod:`.common` holds what more than one of them needs.
"""

from __future__ import annotations

from topics.exports.asyncapi_doc import (
    AVRO_SCHEMA_FORMAT,
    DLQ_HEADERS,
    KAFKA_BINDING_VERSION,
    REGION_KEY,
    asyncapi,
    cloudevents_headers_schema,
)
from topics.exports.markdown_doc import markdown
from topics.exports.strimzi import STRIMZI_API_VERSION, strimzi_topics, strimzi_yaml
from topics.exports.strimzi_users import (
    strimzi_user_templates,
    strimzi_user_templates_yaml,
    strimzi_users,
    strimzi_users_yaml,
)

__all__ = [
    "AVRO_SCHEMA_FORMAT",
    "DLQ_HEADERS",
    "KAFKA_BINDING_VERSION",
    "REGION_KEY",
    "STRIMZI_API_VERSION",
    "asyncapi",
    "cloudevents_headers_schema",
    "markdown",
    "strimzi_topics",
    "strimzi_user_templates",
    "strimzi_user_templates_yaml",
    "strimzi_users",
    "strimzi_users_yaml",
    "strimzi_yaml",
]
