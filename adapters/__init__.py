"""The regional side: publisher SDK, store-and-forward spool, HTTP ingest
gateway, batch importer, database outbox relay and the simulator of all 552
regions.

May import ``bus``, ``schemas`` and ``topics``; nothing imports ``adapters``
except its own entry points and tests.
"""
