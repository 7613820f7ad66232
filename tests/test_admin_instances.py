"""Instances in the admin: typed config fields as in the wizard (secrets masked, set,
replaced or cleared, staged while deployed, errors on the fields), a deploy that names and
links a missing value, next runs as local times with the zone, webhook URLs with copy
buttons and masked keys, and no secret in the HTML."""

from __future__ import annotations

import re
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from instances.lifecycle import instance_deploy, instance_remove
from instances.models import ApiKey, Instance
from instances.services import instance_create
from integrations.config_values import config_values_opened

pytestmark = pytest.mark.django_db

SECRET = "s3cr3t-signing-value"
NEW_SECRET = "replaced-signing-value"
DEFINITION: dict[str, Any] = {
    "name": "Shop",
    "configVariables": [
        {"key": "Shop URL", "type": "string", "default": "https://shop.example.com"},
        {"key": "Batch Size", "type": "number", "default": 10},
        {"key": "Signing Secret", "type": "secret", "required": True},
        {"key": "Api Token", "type": "secret"},
        {
            "key": "Sync Schedule",
            "type": "schedule",
            "default": {
                "scheduleType": "day",
                "value": "0 9 * * *",
                "timeZone": "America/Chicago",
            },
        },
    ],
    "flows": [
        {
            "name": "Order Created",
            "trigger": {"type": "webhook"},
            "steps": [{"name": "R", "action": "flow.return"}],
        },
        {
            "name": "Nightly Sync",
            "trigger": {"type": "schedule", "schedule": {"configVar": "Sync Schedule"}},
            "steps": [{"name": "R", "action": "flow.return"}],
        },
    ],
}


@pytest.fixture
def integration(make_integration):
    return make_integration(DEFINITION)


@pytest.fixture
def instance(integration, customer_a) -> Instance:
    return instance_create(
        integration=integration,
        customer=customer_a,
        name="Webshop",
        config_values={"Signing Secret": SECRET, "Api Token": "token-value-1234"},
    )


@pytest.fixture
def admin(client, staff_user):
    client.force_login(staff_user)
    return client


def change_url(instance: Instance) -> str:
    return reverse("admin:instances_instance_change", args=[instance.pk])


def form_data(admin, instance: Instance, **changes: Any) -> dict[str, Any]:
    """What the change page posts when nothing is touched, with ``changes`` applied
    (keyed by input name, e.g. ``cv0_value``)."""
    page = admin.get(change_url(instance))
    form = page.context["adminform"].form
    data: dict[str, Any] = {"name": instance.name}
    for name in form.config_form.fields:
        initial = form.config_form[name].value()
        if initial in (None, False):
            continue
        data[name] = "on" if initial is True else initial
    for formset in page.context["inline_admin_formsets"]:
        management = formset.formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
        for inline_form in formset.formset.forms:
            for name in inline_form.fields:
                value = inline_form[name].value()
                if value is not None:
                    data[inline_form.add_prefix(name)] = value
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def save(admin, instance: Instance, **changes: Any):
    return admin.post(change_url(instance), form_data(admin, instance, **changes))


def stored(instance: Instance, *, pending: bool = False) -> dict[str, Any]:
    instance.refresh_from_db()
    if pending:
        instance.config_values = instance.pending_config_values
    return config_values_opened(instance)


def test_typed_fields_one_per_config_variable(admin, instance):
    page = admin.get(change_url(instance)).content.decode()
    for position, key in enumerate(v["key"] for v in DEFINITION["configVariables"]):
        assert f'id="config-cv{position}"' in page, key
    assert 'name="cv1_value" step="any"' in page or 'type="number" name="cv1_value"' in page
    assert 'type="password" name="cv2_value"' in page
    assert "stored (hidden)" in page
    assert 'name="cv2_clear"' in page
    assert 'name="cv4_cron"' in page


def test_set_a_value(admin, instance):
    response = save(admin, instance, **{"cv1_value": "25"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert stored(instance)["Batch Size"] == 25
    assert stored(instance)["Signing Secret"] == SECRET  # blank kept it


def test_replace_a_secret(admin, instance):
    assert save(admin, instance, **{"cv2_value": NEW_SECRET}).status_code == 302
    assert stored(instance)["Signing Secret"] == NEW_SECRET


def test_clear_a_secret(admin, instance):
    assert save(admin, instance, **{"cv3_clear": "on"}).status_code == 302
    assert stored(instance)["Api Token"] is None
    assert stored(instance)["Signing Secret"] == SECRET


def test_clearing_a_required_secret_is_an_error_on_its_field(admin, instance):
    response = save(admin, instance, **{"cv2_clear": "on"})
    assert response.status_code == 200
    row = _row(response.content.decode(), "config-cv2")
    assert "A value is required." in row
    assert stored(instance)["Signing Secret"] == SECRET


def _row(page: str, anchor: str) -> str:
    match = re.search(rf'<div class="form-row[^"]*" id="{anchor}".*?</div>\s*</div>', page, re.S)
    assert match, anchor
    return match.group(0)


def test_values_of_a_deployed_instance_are_staged(admin, instance):
    instance_deploy(instance=instance)
    response = save(admin, instance, **{"cv1_value": "99"})
    assert response.status_code == 302
    assert stored(instance)["Batch Size"] == 10  # live values unchanged
    assert stored(instance, pending=True)["Batch Size"] == 99
    followed = admin.get(change_url(instance)).content.decode()
    assert "saved changes take effect at the next deploy" in followed
    assert 'value="99"' in followed  # the page shows what was saved


def test_invalid_value_error_is_on_the_field(admin, instance):
    response = save(admin, instance, **{"cv1_value": "lots"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Enter a number" in _row(page, "config-cv1")
    assert "Enter a number" not in _row(page, "config-cv0")
    assert stored(instance)["Batch Size"] == 10


def test_secret_never_in_the_html_even_after_a_failed_save(admin, instance):
    assert SECRET not in admin.get(change_url(instance)).content.decode()
    response = save(admin, instance, **{"cv1_value": "lots", "cv2_value": NEW_SECRET})
    assert response.status_code == 200
    page = response.content.decode()
    assert NEW_SECRET not in page
    assert SECRET not in page
    assert "token-value-1234" not in page
    assert stored(instance)["Signing Secret"] == SECRET


def test_deploy_failure_names_the_field_and_links_to_it(admin, integration, customer_a):
    # As the admin's add form saves it: no values at all.
    bare = Instance.objects.create(integration=integration, customer=customer_a, name="Bare")
    response = admin.post(
        reverse("admin:instances_instance_changelist"),
        {"action": "deploy_instances", "_selected_action": [str(bare.pk)]},
        follow=True,
    )
    page = response.content.decode()
    link = f'<a href="{change_url(bare)}#config-cv2">Signing Secret</a>: A value is required.'
    assert link in page
    bare.refresh_from_db()
    assert bare.deployed_at is None
    # The page's Deploy button says the same.
    button = admin.post(reverse("admin:instances_instance_deploy", args=[bare.pk]), follow=True)
    assert link in button.content.decode()
    assert 'id="config-cv2"' in button.content.decode()


def test_deploy_button_deploys(admin, instance):
    response = admin.post(reverse("admin:instances_instance_deploy", args=[instance.pk]))
    assert response.status_code == 302
    instance.refresh_from_db()
    assert instance.deployed_at is not None
    assert (
        admin.get(reverse("admin:instances_instance_deploy", args=[instance.pk])).status_code == 405
    )


def test_next_runs_listed_with_the_zone_for_an_undeployed_instance(admin, integration, customer_a):
    bare = Instance.objects.create(integration=integration, customer=customer_a, name="Bare")
    with time_machine.travel("2026-03-06 12:01:00+00:00", tick=False):
        page = admin.get(change_url(bare)).content.decode()
    assert "No schedule flows" not in page
    assert "<strong>Nightly Sync</strong>" in page
    assert "Next runs (America/Chicago) — once deployed" in page
    assert "<li>Sat 7 Mar 2026, 09:00 CST</li>" in page
    # After the switch to daylight saving time the zone's abbreviation follows.
    assert "<li>Tue 10 Mar 2026, 09:00 CDT</li>" in page


def test_webhook_urls_with_copy_buttons_and_masked_keys(admin, instance):
    instance_deploy(instance=instance)
    key = ApiKey.objects.create(instance=instance, flow_name="Order Created")
    page = admin.get(change_url(instance)).content.decode()
    assert 'data-copy="#tf-url-1"' in page
    assert re.search(r'<code id="tf-url-1">http[^<]+</code>', page)
    assert key.key not in page
    assert key.key[-4:] in page


def test_customer_users_are_refused(client, user_a, instance):
    client.force_login(user_a)
    for url in (
        change_url(instance),
        reverse("admin:instances_instance_deploy", args=[instance.pk]),
    ):
        response = client.post(url, {"name": "Taken"})
        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]
    instance.refresh_from_db()
    assert instance.name == "Webshop"
    assert instance.deployed_at is None


def _queries(admin, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert admin.get(url).status_code == 200
    return len(captured)


def test_change_page_query_count_is_bounded(admin, instance, django_assert_max_num_queries):
    instance_deploy(instance=instance)
    ApiKey.objects.create(instance=instance, flow_name="Order Created")
    admin.get(change_url(instance))  # warm up session and content types
    one_key = _queries(admin, change_url(instance))
    for _ in range(10):
        ApiKey.objects.create(instance=instance, flow_name="Order Created")
    assert _queries(admin, change_url(instance)) == one_key, "a query per API key"
    # 23: the Persisted state field reads the instance's state in one query; 24: the
    # Alerts section reads the flows' names for its "Add alert monitor" links in one.
    with django_assert_max_num_queries(24):
        assert admin.get(change_url(instance)).status_code == 200


def test_a_removed_instance_has_no_config_fields_and_no_deploy(admin, instance):
    instance_remove(instance=instance)
    page = admin.get(change_url(instance)).content.decode()
    assert 'name="cv0_value"' not in page
    assert reverse("admin:instances_instance_deploy", args=[instance.pk]) not in page
    assert "Live config values" in page
    assert SECRET not in page
