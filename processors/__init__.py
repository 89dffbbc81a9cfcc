"""The central side, on faust-streaming: router, transformer, aggregators and
the central views (compacted view topics, HTTP API, dashboard).

May import ``bus``, ``schemas`` and ``topics``; nothing imports
``processors`` except its own entry points and tests.
"""
