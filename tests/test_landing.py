"""``/`` is a landing page that leads to the three surfaces: the wizard, the admin and
the API docs."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db


def test_landing_page_links_the_wizard_the_admin_and_the_api_docs(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    links = set(re.findall(r'href="([^"]+)"', response.content.decode()))
    assert {"/wizard/", "/admin/", "/api/docs/"} <= links
