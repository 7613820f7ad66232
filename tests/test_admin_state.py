"""Persisted state in the admin: shown on the instance page, edited as each scope's whole
object (saved as the merge patch of what changed), errors on the page, never a 500."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from state.editing import state_instance_patch_apply
from state.models import StateEntry, StateScope

pytestmark = pytest.mark.django_db


@pytest.fixture
def instance(make_integration, make_instance):
    instance = make_instance(make_integration())
    state_instance_patch_apply(
        instance=instance,
        patch={"instance": {"token": "abc"}, "flows": {"Echo": {"cursor": 5, "page": {"a": 1}}}},
    )
    return instance


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


def _edit_url(instance) -> str:
    return reverse("admin:instances_instance_state", args=[instance.pk])


def _index(page, name: str) -> int:
    return [editor.name for editor in page.context["editors"]].index(name)


def test_the_instance_page_shows_each_key_its_json_and_an_edit_link(staff_client, instance):
    page = staff_client.get(reverse("admin:instances_instance_change", args=[instance.pk]))
    html = page.content.decode()
    assert "Persisted state" in html
    assert "cursor" in html and "token" in html and "&quot;abc&quot;" in html
    assert "flow “Echo”" in html and "updated" in html
    assert _edit_url(instance) in html


def test_a_long_value_is_cut_on_the_instance_page(staff_client, instance):
    state_instance_patch_apply(instance=instance, patch={"instance": {"long": "x" * 5000}})
    html = staff_client.get(
        reverse("admin:instances_instance_change", args=[instance.pk])
    ).content.decode()
    assert "x" * 5000 not in html
    assert "all of it on Edit state" in html


def test_saving_writes_only_what_changed_and_keeps_keys_written_since(staff_client, instance):
    page = staff_client.get(_edit_url(instance))
    assert page.status_code == 200
    shown_flow = page.context["editors"][_index(page, "flow-0")].shown
    shown_instance = page.context["editors"][_index(page, "instance")].shown
    # A run commits a new key while the page is open.
    state_instance_patch_apply(instance=instance, patch={"flows": {"Echo": {"since": "t1"}}})
    edited_flow = {"cursor": 6, "page": {"b": 2}}  # cursor changed, page.a removed, page.b added
    response = staff_client.post(
        _edit_url(instance),
        {
            "instance": "{}",  # the token deleted
            "instance-shown": shown_instance,
            "instance-scope": "instance",
            "flow-0": json.dumps(edited_flow),
            "flow-0-shown": shown_flow,
            "flow-0-scope": "flows.Echo",
        },
    )
    assert response.status_code == 302
    flow = dict(
        StateEntry.objects.filter(scope=StateScope.FLOW, instance=instance).values_list(
            "key", "value"
        )
    )
    assert flow == {"cursor": 6, "page": {"b": 2}, "since": "t1"}
    assert not StateEntry.objects.filter(scope=StateScope.INSTANCE, instance=instance).exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [("{oops", "Not JSON"), ("[1]", "Must be a JSON object"), ('{"": 1}', "non-empty text")],
)
def test_bad_input_is_shown_on_the_page_and_nothing_is_written(
    staff_client, instance, text, message
):
    before = list(StateEntry.objects.values_list("key", "value").order_by("key"))
    page = staff_client.get(_edit_url(instance))
    response = staff_client.post(
        _edit_url(instance),
        {
            "instance": text,
            "instance-shown": page.context["editors"][0].shown,
            "instance-scope": "instance",
        },
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert text in response.content.decode().replace("&quot;", '"').replace("&#x27;", "'")
    assert list(StateEntry.objects.values_list("key", "value").order_by("key")) == before


def test_a_value_over_the_limit_is_named_on_the_page(staff_client, instance, settings):
    settings.TRIGGERFISH_STATE_MAX_VALUE_BYTES = 16
    response = staff_client.post(
        _edit_url(instance),
        {
            "instance": json.dumps({"token": "abc", "big": "y" * 40}),
            "instance-shown": '{"token": "abc"}',
            "instance-scope": "instance",
        },
    )
    assert response.status_code == 400
    assert "big: State value for key &#x27;big&#x27;" in response.content.decode()
    assert not StateEntry.objects.filter(key="big").exists()


def test_customer_users_cannot_reach_the_edit_page(client, user_a, instance):
    client.force_login(user_a)
    response = client.get(_edit_url(instance))
    assert response.status_code == 302  # to the admin's login
    assert "login" in response["Location"]


def test_the_integration_scope_is_edited_by_name_and_listed_among_the_entries(
    staff_client, instance
):
    name = instance.integration.name
    url = reverse("admin:state_integration_state", args=[name])
    page = staff_client.get(url)
    assert page.status_code == 200
    response = staff_client.post(
        url,
        {
            "integration": '{"seen": 3}',
            "integration-shown": page.context["editors"][0].shown,
            "integration-scope": "",
        },
    )
    assert response.status_code == 302
    entry = StateEntry.objects.get(scope=StateScope.INTEGRATION, integration_name=name)
    assert (entry.key, entry.value) == ("seen", 3)
    listing = staff_client.get(
        reverse("admin:state_stateentry_changelist"), {"scope": "integration"}
    )
    html = listing.content.decode()
    assert "seen" in html and url in html
    assert "cursor" not in html


def test_the_integration_page_links_its_scope(staff_client, instance):
    integration = instance.integration
    state_url = reverse("admin:state_integration_state", args=[integration.name])
    page = staff_client.get(reverse("admin:integrations_integration_change", args=[integration.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "0 keys in the scope of" in html and state_url in html


def test_a_box_is_saved_to_the_scope_it_was_drawn_for(staff_client, instance):
    """Boxes are matched by the scope they carry: a box posted under another place in the
    page (a flow that gained state since shifts the boxes) still edits its own scope."""
    response = staff_client.post(
        _edit_url(instance),
        {"flow-7": '{"cursor": 9}', "flow-7-shown": '{"cursor": 5}', "flow-7-scope": "flows.Echo"},
    )
    assert response.status_code == 302
    assert StateEntry.objects.get(scope=StateScope.FLOW, key="cursor").value == 9
    assert StateEntry.objects.get(scope=StateScope.INSTANCE, key="token").value == "abc"


def test_the_instance_page_queries_do_not_grow_with_the_number_of_keys(staff_client, instance):
    url = reverse("admin:instances_instance_change", args=[instance.pk])
    staff_client.get(url)  # warm up session and content types

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert staff_client.get(url).status_code == 200
        return len(queries)

    few = count()
    state_instance_patch_apply(
        instance=instance, patch={"instance": {f"k{n}": n for n in range(30)}}
    )
    assert count() == few


def test_an_entry_page_is_read_only_with_a_link_to_where_it_is_edited(staff_client, instance):
    entry = StateEntry.objects.get(key="token")
    page = staff_client.get(reverse("admin:state_stateentry_change", args=[entry.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "&quot;abc&quot;" in html or "abc" in html
    assert 'name="_save"' not in html and 'name="_continue"' not in html
    assert reverse("admin:state_stateentry_delete", args=[entry.pk]) in html
