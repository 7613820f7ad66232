"""Fixtures only the trigger tests use."""

from tests.fixtures.poll_source import item_source  # noqa: F401 (a fixture, used by name)
