"""Secrets at rest (SPEC §5, §6), never shown: the API, the admin and the wizard show no
secret value, secret default or literal signing secret; one typed into the admin is stored
sealed and checked."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.fixtures.api import api_client_for
from tests.fixtures.html_forms import form_fields
from tests.fixtures.secrets import (
    CLEAR,
    DEFAULT_SECRET,
    SIGNING_SECRET,
    post_signed,
    run_tokens,
    table_dump,
)

pytestmark = pytest.mark.django_db


def test_the_api_definition_shows_no_secret_default_nor_literal_signing_secret(
    vault, user_a, staff_user
):
    integration, _ = vault
    for user in (user_a, staff_user):
        response = api_client_for(user).get(f"/api/v1/integrations/{integration.pk}")
        assert response.status_code == 200
        text = response.content.decode()
        for secret in CLEAR:
            assert secret not in text, secret
        assert "configVars['Signing Secret']" in text


def test_the_admin_shows_no_secret(client, staff_user, vault):
    integration, instance = vault
    client.force_login(staff_user)
    literal = integration.flows.get(name="Literal")
    pages = [
        f"/admin/integrations/integration/{integration.pk}/change/",
        f"/admin/integrations/integration/{integration.pk}/definition/",
        f"/admin/integrations/integration/{integration.pk}/definition/?download=1",
        f"/admin/integrations/flow/{literal.pk}/change/",
        f"/admin/instances/instance/{instance.pk}/change/",
    ]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        for secret in CLEAR:
            assert secret not in response.content.decode(), (page, secret)


def test_the_admin_keeps_a_secret_default_left_blank(client, staff_user, vault):
    integration, instance = vault
    client.force_login(staff_user)
    url = f"/admin/integrations/integration/{integration.pk}/change/"
    page = client.get(url)
    form = page.context["adminform"].form
    data = {key: value for key, value in form.initial.items() if value is not None}
    data.update({"name": integration.name, "version": integration.version})
    data["endpoint_type"] = integration.endpoint_type
    for formset in page.context["inline_admin_formsets"]:
        prefix = formset.formset.prefix
        management = formset.formset.management_form
        for name in management.fields:
            data[f"{prefix}-{name}"] = management[name].value()
        for index, inline_form in enumerate(formset.formset.forms):
            for name in inline_form.fields:
                value = inline_form[name].value()
                if value is not None and value is not False:
                    data[f"{prefix}-{index}-{name}"] = value
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert run_tokens(instance)["fallback"] == DEFAULT_SECRET


def test_the_wizard_shows_no_secret(client, staff_user, vault):
    integration, instance = vault
    client.force_login(staff_user)
    for url in (
        reverse("webui:new-configure", args=[integration.pk]),
        reverse("webui:configure", args=[instance.pk]),
        reverse("webui:instance", args=[instance.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        for secret in CLEAR:
            assert secret not in response.content.decode(), (url, secret)


def test_a_signing_secret_typed_into_the_admin_is_stored_sealed_and_checked(
    client, staff_user, vault
):
    integration, instance = vault
    client.force_login(staff_user)
    flow = integration.flows.get(name="Literal")
    typed = "typed-in-admin-5e7a1d"
    url = f"/admin/integrations/flow/{flow.pk}/change/"
    # What the page offers, with a new secret typed into the trigger editor.
    data = form_fields(client.get(url).content, "flow_form")
    data.update(hmac_preset="generic", hmac_secret_source="literal", hmac_secret=typed)
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert typed not in table_dump("integrations_flow")
    page = client.get(url).content.decode()
    assert typed not in page
    client.logout()
    assert post_signed(client, instance, "Literal", typed).status_code == 200
    assert post_signed(client, instance, "Literal", SIGNING_SECRET).status_code == 401
