"""Root conftest: fixture modules live in tests/fixtures and load as plugins."""

pytest_plugins = ["tests.fixtures.stack", "tests.fixtures.postgres", "tests.fixtures.adapters", "tests.fixtures.contracts", "tests.fixtures.tools", "tests.fixtures.processors", "tests.fixtures.views_api", "tests.fixtures.subscriber", "tests.fixtures.secure"]
