"""The topic catalogue as data, idempotent provisioning and its exports
(AsyncAPI, Strimzi KafkaTopic resources, a Markdown catalogue).

May import ``bus`` and ``schemas``; never ``adapters`` or ``processors``.
"""
