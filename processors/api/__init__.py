"""The central views over HTTP: a JSON API and a live dashboard page.

:class:`~processors.api.store.ViewStore` materialises the compacted view
topics in memory; :mod:`processors.api.rollups` rolls region rows up to
province and nation; :func:`processors.api.app.create_app` serves both.
"""
