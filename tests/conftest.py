"""Shared fixtures live in tests/fixtures/, one module per topic, loaded as plugins."""

import pytest

pytest_plugins = [
    "tests.fixtures.services",
    "tests.fixtures.domain",
    "tests.fixtures.worker",
    "tests.fixtures.http_peer",
    "tests.fixtures.live_server",
    "tests.fixtures.s3",
    "tests.fixtures.sync",
    "tests.fixtures.secrets",
    "tests.fixtures.alert_receiver",
    "tests.fixtures.smtp",
]


@pytest.fixture(autouse=True)
def _known_base_url(settings):
    # Webhook URLs are built from BASE_URL; a fixed value makes them assertable.
    settings.BASE_URL = "http://testserver-base"
