"""Fixtures for the wizard's tests: a definition that uses every config variable type, and
a headless Chromium (Playwright) for the browser tests.

Browser tests drive Debian's ``/usr/bin/chromium`` (installed with apt; CI's ``.ci/run``
installs it when missing), never a browser Playwright downloads. Without it, or without
the ``playwright`` package, they skip locally and fail under CI, like ``services`` tests.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from instances.services import instance_create
from tests.fixtures.services import service_unavailable
from tests.fixtures.wizard import SECRET
from tests.fixtures.worker import ROOT

CHROMIUM = os.environ.get("TRIGGERFISH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts" / "webui"
DOCS_SCREENSHOTS = ROOT / "docs" / "ui"

ORDERS_DEFINITION: dict[str, Any] = {
    "name": "Order Sync",
    "description": "Receives orders from the shop and syncs them on a schedule.",
    "configVariables": [
        {"key": "Shop URL", "type": "string", "default": "https://shop.example.com"},
        {"key": "Region", "type": "picklist", "options": ["us", "eu"], "default": "us"},
        {"key": "Batch Size", "type": "number", "default": 10},
        {"key": "Send Receipts", "type": "boolean", "default": False},
        {"key": "Field Mapping", "type": "json", "default": {"sku": "product_id"}},
        {"key": "Shop Secret", "type": "secret", "required": True},
        {
            "key": "Sync Schedule",
            "type": "schedule",
            "default": {"scheduleType": "minute", "value": "*/5 * * * *", "timeZone": "UTC"},
        },
    ],
    "flows": [
        {
            "name": "Order Created",
            "trigger": {"type": "webhook", "endpointSecurity": "customer_required"},
            "steps": [
                {
                    "name": "Note",
                    "action": "log.write",
                    "inputs": {"level": "info", "message": "order {{ trigger.body.data.id }}"},
                },
                {
                    "name": "Reply",
                    "action": "flow.return",
                    "inputs": {"data": "{{ trigger.body.data }}"},
                },
            ],
        },
        {
            "name": "Nightly Sync",
            "trigger": {"type": "schedule", "schedule": {"configVar": "Sync Schedule"}},
            "steps": [
                {"name": "Log", "action": "log.write", "inputs": {"level": "info", "message": "x"}}
            ],
        },
    ],
}


@pytest.fixture
def orders_integration(make_integration):
    return make_integration(ORDERS_DEFINITION)


@pytest.fixture
def orders_instance(orders_integration, customer_a):
    return instance_create(
        integration=orders_integration,
        customer=customer_a,
        name="Webshop orders",
        config_values={"Shop Secret": SECRET},
    )


@pytest.fixture
def chromium(django_db_setup: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A headless Chromium for one test (its contexts keep users apart).

    Playwright's sync API keeps an asyncio loop registered on this thread, and Django
    refuses ORM calls whenever it sees one; the test's own ORM calls are ordinary
    synchronous code, so the check is switched off for the browser's lifetime only.
    """
    # Here, not at the top: playwright is a test extra, and without it these tests skip.
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        service_unavailable("the playwright package is not installed (pip install -e .[test])")
    if not Path(CHROMIUM).exists():
        service_unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def static_collected(settings) -> None:
    """The live server serves static files with WhiteNoise from STATIC_ROOT, which is
    filled by collectstatic, as in production."""
    call_command("collectstatic", interactive=False, verbosity=0)


class Screenshots:
    """Saves numbered full-page screenshots under test-artifacts/webui/ and, with
    ``TRIGGERFISH_UI_DOCS=1``, refreshes the copies docs/ui.md shows."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.taken: list[Path] = []

    def take(self, page: Any, name: str) -> Path:
        path = self.folder / f"{len(self.taken) + 1:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        if os.environ.get("TRIGGERFISH_UI_DOCS") == "1":
            DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, DOCS_SCREENSHOTS / path.name)
        return path


@pytest.fixture
def screenshots(request) -> Screenshots:
    return Screenshots(ARTIFACTS / request.node.name)
