"""GET/PATCH /api/v1/instances/{id}/state and /api/v1/integrations/{id}/state (SPEC §7):
merge patch semantics, content types, limits, bad bodies, tenancy."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from state.buffer import STATE_MAX_KEYS_PER_SCOPE
from state.models import StateEntry, StateScope

pytestmark = pytest.mark.django_db


def _url(instance) -> str:
    return f"/api/v1/instances/{instance.pk}/state"


def _patch(client, url, body, content_type="application/json"):
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return client.generic("PATCH", url, data, content_type=content_type)


def _flow_entry(instance, key, value, flow="Echo"):
    return StateEntry.objects.create(
        scope=StateScope.FLOW, instance=instance, flow_name=flow, key=key, value=value
    )


def test_get_lists_every_flow_of_the_integration_and_the_instance_scope(staff_api, world):
    instance = world["instance_a"]
    _flow_entry(instance, "cursor", 5)
    StateEntry.objects.create(
        scope=StateScope.INSTANCE, instance=instance, key="Access Token", value="t"
    )
    response = staff_api.get(_url(instance))
    assert response.status_code == 200
    assert response.json() == {"instance": {"Access Token": "t"}, "flows": {"Echo": {"cursor": 5}}}
    # A flow with no state is there, empty.
    assert staff_api.get(_url(world["instance_b"])).json() == {
        "instance": {},
        "flows": {"Echo": {}},
    }


@pytest.mark.parametrize("content_type", ["application/json", "application/merge-patch+json"])
def test_patch_merges_deletes_with_null_and_answers_the_whole_state(staff_api, world, content_type):
    instance = world["instance_a"]
    _flow_entry(instance, "cursor", 5)
    _flow_entry(instance, "page", {"size": 10, "sort": "id", "filter": {"a": 1}})
    _flow_entry(instance, "gone", True)
    patch = {
        "flows": {
            "Echo": {
                "cursor": 6,
                "gone": None,
                "page": {"sort": None, "filter": {"b": 2}},
                "fresh": [1, None],
            }
        },
        "instance": {"token": "x"},
    }
    response = _patch(staff_api, _url(instance), patch, content_type)
    assert response.status_code == 200, response.content
    expected = {
        "instance": {"token": "x"},
        "flows": {
            "Echo": {
                "cursor": 6,
                "page": {"size": 10, "filter": {"a": 1, "b": 2}},
                "fresh": [1, None],  # a list is replaced whole, nulls and all
            }
        },
    }
    assert response.json() == expected
    assert staff_api.get(_url(instance)).json() == expected


def test_an_object_replaces_a_value_that_is_not_one_and_nested_nulls_are_dropped(staff_api, world):
    instance = world["instance_a"]
    _flow_entry(instance, "k", "text")
    response = _patch(staff_api, _url(instance), {"flows": {"Echo": {"k": {"a": 1, "b": None}}}})
    assert response.json()["flows"]["Echo"] == {"k": {"a": 1}}


def test_keys_the_patch_does_not_name_are_untouched(staff_api, world):
    instance = world["instance_a"]
    kept = _flow_entry(instance, "other", 1)
    _patch(staff_api, _url(instance), {"flows": {"Echo": {"mine": 2}}})
    kept_after = StateEntry.objects.get(pk=kept.pk)
    assert kept_after.value == 1
    assert kept_after.updated_at == kept.updated_at


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"instanse": {}}, "instanse"),
        ({"flows": {"Nope": {"a": 1}}}, "flows.Nope"),
        ({"flows": []}, "flows"),
        ({"instance": [1]}, "instance"),
        ({"flows": {"Echo": 3}}, "flows.Echo"),
        ({"instance": {"": 1}}, "instance."),
        ({"instance": {"k" * 256: 1}}, "instance." + "k" * 256),
    ],
)
def test_bad_patches_are_400_naming_the_path_and_write_nothing(staff_api, world, body, field):
    instance = world["instance_a"]
    response = _patch(
        staff_api, _url(instance), {**body, "instance": body.get("instance", {"x": 1})}
    )
    assert response.status_code == 400, response.content
    assert field in response.json()["fields"]
    assert not StateEntry.objects.filter(instance=instance).exists()


@pytest.mark.parametrize(
    "raw", [b"{not json", b"[1, 2]", b'"text"', b"\xff\xfe", b'{"instance": NaN}', b"null"]
)
def test_bodies_that_are_not_a_json_object_are_400(staff_api, world, raw):
    response = _patch(staff_api, _url(world["instance_a"]), raw)
    assert response.status_code == 400
    assert "error" in response.json()


def test_other_content_types_are_refused(staff_api, world):
    response = _patch(
        staff_api, _url(world["instance_a"]), b"a=1", "application/x-www-form-urlencoded"
    )
    assert response.status_code == 415


def test_a_value_over_the_size_limit_is_400_naming_the_key(staff_api, world, settings):
    settings.TRIGGERFISH_STATE_MAX_VALUE_BYTES = 16
    instance = world["instance_a"]
    response = _patch(staff_api, _url(instance), {"flows": {"Echo": {"big": "x" * 20, "small": 1}}})
    assert response.status_code == 400
    message = response.json()["fields"]["flows.Echo.big"]
    assert "over the limit of 16 bytes" in message
    assert not StateEntry.objects.filter(instance=instance).exists()


def test_the_thousandth_key_is_allowed_and_the_next_one_refused(staff_api, world):
    instance = world["instance_a"]
    url = _url(instance)
    first = {f"k{n:04}": n for n in range(STATE_MAX_KEYS_PER_SCOPE - 1)}
    assert _patch(staff_api, url, {"instance": first}).status_code == 200
    assert _patch(staff_api, url, {"instance": {"last": 1}}).status_code == 200
    refused = _patch(staff_api, url, {"instance": {"over": 1}})
    assert refused.status_code == 400
    assert "1000 keys per scope" in refused.json()["fields"]["instance.over"]
    # Deleting one makes room for another in the same patch.
    swapped = _patch(staff_api, url, {"instance": {"last": None, "over": 1}})
    assert swapped.status_code == 200
    assert StateEntry.objects.filter(instance=instance).count() == STATE_MAX_KEYS_PER_SCOPE


def test_a_body_over_the_limit_is_413(staff_api, world, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    settings.TRIGGERFISH_STATE_MAX_VALUE_BYTES = 10
    response = _patch(staff_api, _url(world["instance_a"]), {"instance": {"k": "x" * 70_000}})
    assert response.status_code == 413
    assert "limit" in response.json()["error"]


def test_customer_users_read_their_own_and_write_nothing(api_a, world):
    own, other = world["instance_a"], world["instance_b"]
    _flow_entry(own, "cursor", 1)
    assert api_a.get(_url(own)).json()["flows"]["Echo"] == {"cursor": 1}
    assert api_a.get(_url(other)).status_code == 404
    assert _patch(api_a, _url(own), {"instance": {"a": 1}}).status_code == 403
    assert _patch(api_a, _url(other), {"instance": {"a": 1}}).status_code == 404
    assert not StateEntry.objects.filter(scope=StateScope.INSTANCE).exists()


def test_an_unknown_or_malformed_instance_id_is_404(staff_api):
    assert (
        staff_api.get("/api/v1/instances/00000000-0000-0000-0000-000000000000/state").status_code
        == 404
    )
    assert staff_api.get("/api/v1/instances/nope/state").status_code == 404


def test_integration_state_is_the_scope_itself_by_name_across_versions(staff_api, make_integration):
    first = make_integration()
    second = make_integration(configVariables=[])
    assert first.name == second.name and first.pk != second.pk
    response = _patch(staff_api, f"/api/v1/integrations/{first.pk}/state", {"seen": 3})
    assert response.status_code == 200
    assert response.json() == {"seen": 3}
    _patch(staff_api, f"/api/v1/integrations/{second.pk}/state/", {"seen": None, "x": {"a": 1}})
    assert staff_api.get(f"/api/v1/integrations/{first.pk}/state").json() == {"x": {"a": 1}}
    bad = _patch(staff_api, f"/api/v1/integrations/{first.pk}/state", {"": 1})
    assert bad.status_code == 400 and "" in bad.json()["fields"]
    assert _patch(staff_api, f"/api/v1/integrations/{first.pk}/state", [1]).status_code == 400


def test_integration_state_is_404_to_customer_users(api_a, world):
    url = f"/api/v1/integrations/{world['integration'].pk}/state"
    StateEntry.objects.create(
        scope=StateScope.INTEGRATION, integration_name=world["integration"].name, key="k", value=1
    )
    assert api_a.get(url).status_code == 404
    assert _patch(api_a, url, {"k": 2}).status_code == 404
    assert StateEntry.objects.get(key="k").value == 1


def test_query_counts_do_not_grow_with_the_number_of_keys(staff_api, world):
    instance = world["instance_a"]
    url = _url(instance)

    def counts(size: int, offset: int) -> tuple[int, int]:
        patch = {"instance": {f"k{offset + n}": [n, size] for n in range(size)}}
        with CaptureQueriesContext(connection) as patched:
            assert _patch(staff_api, url, patch).status_code == 200
        with CaptureQueriesContext(connection) as read:
            assert staff_api.get(url).status_code == 200
        return len(patched), len(read)

    inserted_few = counts(2, 0)
    assert counts(40, 100) == inserted_few
    # Updates: the same keys again, with values that change.
    updated_few = counts(2, 0)
    assert counts(40, 100) == updated_few


def test_null_for_a_scope_clears_it_and_only_it(staff_api, world):
    instance = world["instance_a"]
    _flow_entry(instance, "cursor", 1)
    StateEntry.objects.create(scope=StateScope.INSTANCE, instance=instance, key="t", value=1)
    cleared_flow = _patch(staff_api, _url(instance), {"flows": {"Echo": None}})
    assert cleared_flow.json() == {"instance": {"t": 1}, "flows": {"Echo": {}}}
    _flow_entry(instance, "cursor", 2)
    cleared = _patch(staff_api, _url(instance), {"instance": None, "flows": None})
    assert cleared.json() == {"instance": {}, "flows": {"Echo": {}}}
    assert not StateEntry.objects.filter(instance=instance).exists()


def test_a_null_body_does_not_clear_the_integration_scope(staff_api, world):
    integration = world["integration"]
    StateEntry.objects.create(
        scope=StateScope.INTEGRATION, integration_name=integration.name, key="k", value=1
    )
    response = _patch(staff_api, f"/api/v1/integrations/{integration.pk}/state", b"null")
    assert response.status_code == 400
    assert StateEntry.objects.filter(key="k").exists()
