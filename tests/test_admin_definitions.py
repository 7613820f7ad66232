"""Definitions in and out of the admin: the import page runs the API's importer and shows
its errors with their paths (never a 500); an integration version diffs against the one
before it; staff only."""

from __future__ import annotations

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from integrations.definitions import integration_diff_previous
from integrations.models import Integration
from tests.fixtures.domain import definition

pytestmark = pytest.mark.django_db

IMPORT_URL = "/admin/integrations/integration/import/"


def _upload(client, content: bytes, name: str = "echo.yaml"):
    return client.post(IMPORT_URL, {"file": SimpleUploadedFile(name, content), "text": ""})


def _yaml(spec: dict) -> bytes:
    return yaml.safe_dump(spec, sort_keys=False).encode()


@pytest.fixture
def staff(client, staff_user):
    client.force_login(staff_user)
    return client


def _greeting(text: str) -> dict:
    spec = definition()
    spec["configVariables"][0]["default"] = text
    return spec


def test_import_url_keeps_its_name():
    assert reverse("admin:integrations_integration_import") == IMPORT_URL


def test_changelist_offers_import(staff):
    page = staff.get(reverse("admin:integrations_integration_changelist")).content.decode()
    assert f'href="{IMPORT_URL}"' in page
    assert "Import a definition" in page


def test_import_page_renders(staff):
    response = staff.get(IMPORT_URL)
    assert response.status_code == 200
    assert 'type="file"' in response.content.decode()


def test_upload_creates_a_version_and_redirects_to_it(staff):
    response = _upload(staff, _yaml(definition()))
    integration = Integration.objects.get(name="Echo")
    assert integration.version == 1
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "admin:integrations_integration_change", args=[integration.pk]
    )
    page = staff.get(response["Location"]).content.decode()
    assert "as a new version" in page


def test_same_definition_again_is_unchanged(staff):
    _upload(staff, _yaml(definition()))
    response = _upload(staff, _yaml(definition()))
    assert Integration.objects.filter(name="Echo").count() == 1
    assert response.status_code == 302
    page = staff.get(response["Location"]).content.decode()
    assert "Unchanged" in page


def test_changed_definition_makes_the_next_version(staff):
    _upload(staff, _yaml(definition()))
    response = _upload(staff, _yaml(_greeting("bonjour")))
    second = Integration.objects.get(name="Echo", version=2)
    assert response["Location"].endswith(f"/{second.pk}/change/")


def test_pasted_text_and_json_files_import(staff):
    response = staff.post(IMPORT_URL, {"text": _yaml(definition()).decode()})
    assert response.status_code == 302
    json_text = b'{"name": "Json", "flows": [{"name": "F", "trigger": {"type": "webhook"}, '
    json_text += b'"steps": [{"name": "R", "action": "flow.return"}]}]}'
    response = _upload(staff, json_text, name="json.json")
    assert response.status_code == 302
    assert Integration.objects.filter(name="Json").exists()


def test_errors_are_shown_with_their_paths(staff):
    spec = definition()
    spec["flows"][0]["trigger"] = {"type": "schedule", "schedule": {"cron": "not a cron"}}
    response = _upload(staff, _yaml(spec))
    assert response.status_code == 400
    page = response.content.decode()
    assert "<code>flows[0].trigger.schedule.cron</code>" in page
    assert "The definition was not imported" in page
    assert not Integration.objects.exists()


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"name: \xff\xfe broken", "Not UTF-8"),
        (b"name: a\x00b", "Not valid YAML"),
        (b"- just\n- a list\n", "must be a mapping"),
        (b"just a string", "must be a mapping"),
        (b"name: [unclosed", "Not valid YAML"),
        (b"{not json", "Not valid JSON"),
    ],
    ids=["not-utf8", "nul-byte", "list", "scalar", "bad-yaml", "bad-json"],
)
def test_bad_inputs_are_a_400_with_a_message(staff, content, words):
    name = "bad.json" if words == "Not valid JSON" else "bad.yaml"
    response = _upload(staff, content, name=name)
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="definition-errors"' in page
    assert words in page
    assert not Integration.objects.exists()


def test_a_file_over_the_limit_is_refused(staff, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = _upload(staff, b"name: x\n" + b"#" * 2000)
    assert response.status_code == 400
    assert "the limit is 1,000 bytes" in response.content.decode()


def test_nothing_given_or_both_given(staff):
    assert staff.post(IMPORT_URL, {"text": "  "}).status_code == 400
    response = staff.post(
        IMPORT_URL, {"file": SimpleUploadedFile("a.yaml", b"name: a"), "text": "name: a"}
    )
    assert response.status_code == 400
    assert "not both" in response.content.decode()


def test_pasted_nul_byte_is_a_form_error(staff):
    response = staff.post(IMPORT_URL, {"text": "name: a\x00b"})
    assert response.status_code == 400
    assert "Null characters are not allowed" in response.content.decode()


def test_diff_shows_added_and_removed_lines_escaped(staff, make_integration):
    make_integration(_greeting("hello"))
    second = make_integration(_greeting("<b>bonjour</b>"))
    url = reverse("admin:integrations_integration_diff", args=[second.pk])
    page = staff.get(url).content.decode()
    assert '<span class="tf-diff-removed">-  default: hello</span>' in page
    assert '<span class="tf-diff-added">+  default: &lt;b&gt;bonjour&lt;/b&gt;</span>' in page
    assert '<span class="tf-diff-file">--- Echo v1</span>' in page
    assert "<b>bonjour</b>" not in page


def test_diff_of_a_first_version_says_so(staff, make_integration):
    first = make_integration()
    page = staff.get(reverse("admin:integrations_integration_diff", args=[first.pk]))
    assert page.status_code == 200
    assert "This is the first version of Echo" in page.content.decode()


def test_diff_leaves_secrets_out(staff, make_integration):
    spec = definition(configVariables=[{"key": "Token", "type": "secret", "default": "hunter22"}])
    make_integration(spec)
    spec["configVariables"][0]["default"] = "swordfish"
    second = make_integration(spec)
    page = staff.get(reverse("admin:integrations_integration_diff", args=[second.pk]))
    text = page.content.decode()
    assert "hunter22" not in text and "swordfish" not in text
    assert 'id="no-changes"' in text


def test_integration_page_links_export_and_diff(staff, make_integration):
    make_integration()
    second = make_integration(_greeting("bonjour"))
    page = staff.get(
        reverse("admin:integrations_integration_change", args=[second.pk])
    ).content.decode()
    definition_url = reverse("admin:integrations_integration_definition", args=[second.pk])
    assert f'href="{definition_url}?download=1"' in page
    assert f'href="{reverse("admin:integrations_integration_diff", args=[second.pk])}"' in page


def test_customer_users_are_refused(client, user_a, make_integration):
    second = make_integration()
    client.force_login(user_a)
    for url in (IMPORT_URL, reverse("admin:integrations_integration_diff", args=[second.pk])):
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/admin/login/" in response["Location"]
    response = client.post(IMPORT_URL, {"text": _yaml(definition(name="Sneaky")).decode()})
    assert response.status_code == 302
    assert not Integration.objects.filter(name="Sneaky").exists()


def _big(flows: int) -> dict:
    spec = definition()
    template = spec["flows"][0]
    spec["flows"] = []
    for index in range(flows):
        flow = dict(template, name=f"Flow {index}")
        flow["steps"] = [dict(template["steps"][0], name=f"Step {n}") for n in range(4)]
        spec["flows"].append(flow)
    return spec


def test_diff_page_queries_do_not_grow_with_the_definition(staff, make_integration):
    make_integration(_big(1))
    small = make_integration(_big(2))
    make_integration(_big(2), name="Large")
    large = make_integration(_big(12), name="Large")
    counts = []
    for integration in (small, large):
        url = reverse("admin:integrations_integration_diff", args=[integration.pk])
        with CaptureQueriesContext(connection) as queries:
            assert staff.get(url).status_code == 200
        counts.append(len(queries.captured_queries))
    assert counts[0] == counts[1], counts
    assert counts[0] <= 12, counts


def test_diff_when_the_previous_version_was_deleted(staff, make_integration):
    first = make_integration()
    second = make_integration(_greeting("bonjour"))
    first.delete()
    page = staff.get(reverse("admin:integrations_integration_diff", args=[second.pk]))
    assert page.status_code == 200
    assert "Version 1 of Echo no longer exists" in page.content.decode()


def test_pasted_text_over_the_limit_is_a_400_not_a_500(staff, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = staff.post(IMPORT_URL, {"text": "name: x\n" + "#" * 2000})
    assert response.status_code == 400
    assert not Integration.objects.exists()


def test_diff_lines_compare_the_exports(make_integration):
    make_integration()
    second = make_integration(_greeting("bonjour"))
    diff = integration_diff_previous(integration=second)
    assert diff.previous is not None and diff.previous.version == 1
    assert [line.text for line in diff.lines if line.kind == "added"] == ["+  default: bonjour"]
    assert [line.text for line in diff.lines if line.kind == "removed"] == ["-  default: hello"]
    assert diff.changed
