"""The contracts: Avro schemas (.avsc) per theme and event, the common envelope,
pydantic models checked against them, and compatibility checks.

``schemas`` is the bottom of the dependency graph: it imports no other
egov-bus package.
"""
