"""The central views over HTTP: a JSON API and a live dashboard page.

:class:`~processors.api.store.ViewStore` materialises the compacted view
topics in memory; :mod:`processors.api.rollups` rolls region rows up to
province and nation; :mod:`processors.api.access` holds the bearer tokens and
their scopes (nation or one province); :func:`processors.api.app.create_app`
serves both.
"""
