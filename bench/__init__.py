"""The benchmarks of egov-bus (B1 publish, B2 process, B3 e2e) and their helpers; not runtime code.

Run from the repository root as modules, ``.venv/bin/python -m bench.<name>``
(``deploy/bench.sh`` / ``make bench`` do), so that ``bench`` and the installed
packages import without a ``sys.path`` hack. They use only the public API of
``adapters``, ``processors``, ``topics`` and ``bus`` (package exports and
documented functions), as a deployment would.
"""
