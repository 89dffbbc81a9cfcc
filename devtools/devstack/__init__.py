"""The local development stack: Kafka 4.x (KRaft) and Apicurio Registry 3.x.

Both run as plain processes on loopback from artifacts fetched through Maven
Central and cached in the user cache directory; no Docker. Used by
``egov-bus dev``, ``make demo`` and the test session.
"""

from devtools.devstack.stack import DevStack, StackInfo

__all__ = ["DevStack", "StackInfo"]
