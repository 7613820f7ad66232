"""Shared fixtures live in tests/fixtures/, one module per topic, loaded as plugins."""

pytest_plugins = [
    "tests.fixtures.services",
    "tests.fixtures.domain",
    "tests.fixtures.worker",
    "tests.fixtures.http_peer",
]
