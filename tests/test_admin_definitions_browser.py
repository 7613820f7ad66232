"""Importing a definition file and diffing two versions in a real browser (Debian's
Chromium via Playwright) against gunicorn on the test database, at 1280 and 390 px: no
page is wider than its viewport."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from integrations.models import Integration
from tests.fixtures.admin_browser import WIDTHS, admin_screenshot, page_fits, staff_page
from tests.fixtures.domain import definition

# The wizard's browser fixtures: one headless Chromium per test, static files collected.
from tests.webui.conftest import chromium, static_collected  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def _definition_file(tmp_path: Path, name: str, greeting: str) -> Path:
    spec = definition(name=name)
    spec["configVariables"][0]["default"] = greeting
    spec["configVariables"][0]["description"] = (
        "What the reply starts with; a long description so the diff has a line as long "
        "as real ones, which must wrap on a phone instead of widening the page."
    )
    if greeting != "hello":
        spec["flows"][0]["steps"].insert(
            0, {"name": "Note the order", "action": "log.write", "inputs": {"message": greeting}}
        )
    path = tmp_path / f"{name}-{greeting}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def test_import_a_file_then_a_changed_one_and_diff_them(
    chromium,  # noqa: F811 - the imported fixture
    static_collected,  # noqa: F811
    start_live_server,
    staff_user,
    tmp_path,
):
    server = start_live_server(workers=2)
    for width in WIDTHS:
        name = f"Order sync {width}"
        page = staff_page(
            chromium, server.url, width=width, next_url="/admin/integrations/integration/"
        )
        page.get_by_role("link", name="Import a definition").click()
        page.wait_for_selector("#definition-import")
        page_fits(page)

        # A broken file first: the importer's error, with its path, on the page.
        broken = tmp_path / "broken.yaml"
        broken.write_text("name: Broken\nflows:\n  - name: F\n    trigger: {type: nope}\n")
        page.set_input_files("#id_file", str(broken))
        page.click("#definition-import input[type=submit]")
        errors = page.locator("#definition-errors")
        assert "flows[0]" in errors.inner_text()
        page_fits(page)
        admin_screenshot(page, f"admin-import-{width}")

        page.set_input_files("#id_file", str(_definition_file(tmp_path, name, "hello")))
        page.click("#definition-import input[type=submit]")
        assert "as a new version" in page.locator("ul.messagelist").inner_text()
        first = Integration.objects.get(name=name)
        assert page.url.endswith(f"/{first.pk}/change/")

        page.goto("/admin/integrations/integration/import/")
        page.set_input_files("#id_file", str(_definition_file(tmp_path, name, "bonjour")))
        page.click("#definition-import input[type=submit]")
        assert "as a new version" in page.locator("ul.messagelist").inner_text()
        second = Integration.objects.get(name=name, version=2)
        assert page.url.endswith(f"/{second.pk}/change/")

        page.get_by_role("link", name="Diff with the previous version").click()
        diff = page.locator("#definition-diff")
        added = diff.locator("span.tf-diff-added")
        assert "+  default: bonjour" in added.all_inner_texts()
        assert any("Note the order" in text for text in added.all_inner_texts())
        assert "-  default: hello" in diff.locator("span.tf-diff-removed").all_inner_texts()
        color = added.first.evaluate("el => getComputedStyle(el).backgroundColor")
        assert color not in ("rgba(0, 0, 0, 0)", "transparent"), color
        page_fits(page)
        admin_screenshot(page, f"admin-diff-{width}")
        page.context.close()
