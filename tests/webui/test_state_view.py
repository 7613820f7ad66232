"""The wizard's instance page shows Saved state: the instance's flow and instance scopes,
read only; never the integration scope; another customer's instance is a 404; the page's
queries do not grow with the number of keys."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from state.editing import state_instance_patch_apply, state_integration_patch_apply
from webui.persisted_state import WIZARD_VALUE_MAX_CHARS

pytestmark = pytest.mark.django_db


@pytest.fixture
def instance(make_integration, make_instance):
    instance = make_instance(make_integration())
    state_instance_patch_apply(
        instance=instance,
        patch={"instance": {"Access Token": "tok-1"}, "flows": {"Echo": {"cursor": 42}}},
    )
    state_integration_patch_apply(
        integration_name=instance.integration.name, patch={"integrationOnly": "hidden-1"}
    )
    return instance


def _page(client, instance):
    return client.get(f"/wizard/instances/{instance.pk}/")


def test_the_customer_sees_its_flow_and_instance_state_only(client, user_a, instance):
    client.force_login(user_a)
    html = _page(client, instance).content.decode()
    section = html[html.index('id="saved-state"') : html.index('id="history"')]
    assert "Access Token" in section and "&quot;tok-1&quot;" in section
    assert "Flow “Echo”" in section and "cursor" in section and "42" in section
    assert "integrationOnly" not in html and "hidden-1" not in html
    assert "<textarea" not in section and "<form" not in section


def test_another_customers_instance_is_a_404(client, user_b, instance):
    client.force_login(user_b)
    assert _page(client, instance).status_code == 404


def test_a_long_value_is_shortened_with_a_note(client, user_a, instance):
    state_instance_patch_apply(instance=instance, patch={"instance": {"big": "z" * 5000}})
    client.force_login(user_a)
    html = _page(client, instance).content.decode()
    assert "z" * 5000 not in html
    assert "z" * (WIZARD_VALUE_MAX_CHARS - 10) in html
    assert f"the first {WIZARD_VALUE_MAX_CHARS} of 5002 characters" in html


def test_queries_do_not_grow_with_the_number_of_keys(client, user_a, instance):
    client.force_login(user_a)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert _page(client, instance).status_code == 200
        return len(queries)

    few = count()
    state_instance_patch_apply(
        instance=instance, patch={"flows": {"Echo": {f"k{n}": n for n in range(50)}}}
    )
    assert count() == few
