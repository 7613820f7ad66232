"""The flow page's steps (integrations.editor.step_form): the action picker, saving,
reordering, and the definition importer's errors shown on the step and field they are
about — never a 500, whatever the inputs box holds."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest
from django import forms
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from integrations.components.registry import components_all
from integrations.models import Flow, Step
from tests.fixtures.domain import definition
from tests.fixtures.queries import activity_written_before_each_measure  # noqa: F401

pytestmark = pytest.mark.django_db

STEPS = [
    {
        "name": "Fetch",
        "action": "http.request",
        "inputs": {"url": "{{ configVars['Base URL'] }}/orders", "method": "GET"},
    },
    {"name": "Note", "action": "log.write", "inputs": {"message": "fetched"}},
    {"name": "Reply", "action": "flow.return", "inputs": {"data": "{{ steps['Fetch'].data }}"}},
]


def _spec(steps: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    spec = definition(
        name="Order sync",
        configVariables=[
            {"key": "Base URL", "type": "string", "default": "http://127.0.0.1:9000"},
            {"key": "Token", "type": "secret", "default": "s3cret"},
        ],
    )
    spec["flows"][0]["steps"] = STEPS if steps is None else steps
    return spec


@pytest.fixture
def flow(make_integration) -> Flow:
    return make_integration(_spec()).flows.get()


@pytest.fixture
def admin(client, staff_user):
    client.force_login(staff_user)
    return client


def change_url(flow: Flow) -> str:
    return reverse("admin:integrations_flow_change", args=[flow.pk])


def _field_data(data: dict[str, Any], bound: forms.BoundField) -> None:
    value = bound.value()
    if isinstance(bound.field.widget, forms.CheckboxInput):
        if value:
            data[bound.html_name] = "on"
    else:
        data[bound.html_name] = "" if value is None else str(value)


def page_data(response) -> dict[str, Any]:
    """What the browser would post back unchanged: the flow form, then the steps."""
    data: dict[str, Any] = {}
    for bound in response.context["adminform"].form:
        _field_data(data, bound)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for bound in formset.management_form:
            _field_data(data, bound)
        for form in formset.forms:
            for bound in form:
                _field_data(data, bound)
    return data


def step_forms(response) -> list[forms.BaseForm]:
    (inline,) = [
        i for i in response.context["inline_admin_formsets"] if i.formset.prefix == "steps"
    ]
    return inline.formset.forms


def post_steps(admin, flow: Flow, **changes: Any):
    data = page_data(admin.get(change_url(flow)))
    data.update(changes)
    return admin.post(change_url(flow), data)


def stored(flow: Flow) -> list[tuple[int, str, str, dict]]:
    return list(flow.steps.order_by("position").values_list("position", "name", "action", "inputs"))


def test_the_picker_lists_every_registered_action_grouped_by_component(admin, flow):
    page = admin.get(change_url(flow)).content.decode()
    select = re.search(r'<select name="steps-0-action".*?</select>', page, re.DOTALL).group(0)
    for component in components_all():
        if not component.actions:
            continue
        assert f'<optgroup label="{component.name or component.key}">' in select
        for key, action in component.actions.items():
            assert f'<option value="{key}"' in select
            assert html.escape(action.description) in select
    assert re.search(r'<option value="http.request" selected>', select)


def test_the_page_carries_each_actions_declared_inputs_and_the_references(admin, flow):
    page = admin.get(change_url(flow)).content.decode()
    catalog = json.loads(
        re.search(r'id="tf-step-actions" type="application/json">(.*?)</script>', page).group(1)
    )
    http_inputs = {i["name"]: i for i in catalog["http.request"]["inputs"]}
    assert http_inputs["url"]["required"] is True
    assert http_inputs["method"]["default"] == "GET"
    assert http_inputs["timeoutSeconds"]["type"] == "number"
    references = json.loads(
        re.search(r'id="tf-step-references" type="application/json">(.*?)</script>', page).group(1)
    )
    expressions = {e["expression"] for group in references.values() for e in group}
    assert {"configVars['Base URL']", "configVars['Token']", "trigger.body.data"} <= expressions
    assert {"trigger.headers", "trigger.queryParameters", "execution.id"} <= expressions
    assert {"state.flow", "state.instance", "state.integration"} <= expressions
    # Without the script: the chosen action's inputs in words, and the reference list.
    assert "url (string, required)" in page
    assert "What a step may reference" in page
    assert "s3cret" not in page


def test_saving_a_changed_step_and_a_new_one(admin, flow):
    response = post_steps(
        admin,
        flow,
        **{
            "steps-1-inputs": json.dumps({"message": "{{ steps['Fetch'].statusCode }}"}),
            "steps-TOTAL_FORMS": "4",
            "steps-3-position": "3",
            "steps-3-name": "Done",
            "steps-3-action": "log.write",
            "steps-3-inputs": '{"level": "info", "message": "{{ execution.id }}"}',
        },
    )
    assert response.status_code == 302, response.context and step_forms(response)
    assert stored(flow) == [
        (0, "Fetch", "http.request", STEPS[0]["inputs"]),
        (1, "Note", "log.write", {"message": "{{ steps['Fetch'].statusCode }}"}),
        (2, "Reply", "flow.return", STEPS[2]["inputs"]),
        (3, "Done", "log.write", {"level": "info", "message": "{{ execution.id }}"}),
    ]


def test_an_unchanged_page_saves_as_it_is(admin, flow):
    before = stored(flow)
    assert post_steps(admin, flow).status_code == 302
    assert stored(flow) == before


def test_reordering_saves_the_order_shown_as_positions_from_zero(admin, flow):
    response = post_steps(
        admin, flow, **{"steps-0-position": "7", "steps-1-position": "2", "steps-2-position": "5"}
    )
    assert response.status_code == 302
    assert [(p, n) for p, n, _, _ in stored(flow)] == [(0, "Note"), (1, "Reply"), (2, "Fetch")]


def test_deleting_a_step_renumbers_the_rest(admin, flow):
    response = post_steps(admin, flow, **{"steps-0-DELETE": "on"})
    assert response.status_code == 302
    assert [(p, n) for p, n, _, _ in stored(flow)] == [(0, "Note"), (1, "Reply")]


def test_an_unknown_action_is_an_error_on_that_steps_action(admin, flow):
    response = post_steps(admin, flow, **{"steps-1-action": "nope.nothing"})
    assert response.status_code == 200
    errors = [form.errors for form in step_forms(response)]
    assert "Unknown action 'nope.nothing'" in errors[1]["action"][0]
    assert not errors[0] and not errors[2]
    assert stored(flow)[1][2] == "log.write"


def test_errors_follow_the_new_order_and_skip_deleted_steps(admin, flow):
    # Step 0 deleted, step 2 moved first: the importer's steps[0] is the page's third form.
    response = post_steps(
        admin,
        flow,
        **{
            "steps-0-DELETE": "on",
            "steps-2-position": "0",
            "steps-1-position": "1",
            "steps-2-action": "gone.away",
        },
    )
    assert response.status_code == 200
    errors = [form.errors for form in step_forms(response)]
    assert "Unknown action 'gone.away'" in errors[2]["action"][0]
    assert not errors[0] and not errors[1]


def test_an_input_error_is_on_the_inputs_field_and_on_that_input(admin, flow):
    response = post_steps(
        admin, flow, **{"steps-0-inputs": json.dumps({"url": "http://x/\x00", "Base URL": "\x00"})}
    )
    assert response.status_code == 200
    form = step_forms(response)[0]
    assert "inputs.url: Text may not contain NUL characters." in form.errors["inputs"]
    assert "inputs['Base URL']: Text may not contain NUL characters." in form.errors["inputs"]
    assert set(form.input_errors) == {"url", "Base URL"}
    assert "&quot;Base URL&quot;: &quot;Text may not contain NUL" in response.content.decode()


def test_inputs_that_are_not_an_object_are_the_importers_error(admin, flow):
    response = post_steps(admin, flow, **{"steps-2-inputs": "[1, 2]"})
    assert response.status_code == 200
    assert "dictionary" in step_forms(response)[2].errors["inputs"][0]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("{nope", id="invalid-json"),
        pytest.param('{"message": "a\x00b"}', id="raw-nul"),
        pytest.param('{"n": ' + "9" * 5000 + "}", id="huge-number"),
        pytest.param("[" * 100_000 + "]" * 100_000, id="huge-nesting"),
    ],
)
def test_unreadable_inputs_are_a_field_error_never_a_500(admin, flow, text):
    response = post_steps(admin, flow, **{"steps-1-inputs": text})
    assert response.status_code == 200
    assert step_forms(response)[1].errors["inputs"]
    assert stored(flow)[1][3] == {"message": "fetched"}


def test_a_nul_in_a_step_name_is_a_field_error(admin, flow):
    response = post_steps(admin, flow, **{"steps-1-name": "No\x00te"})
    assert response.status_code == 200
    assert step_forms(response)[1].errors["name"]


def test_duplicate_step_names_are_refused(admin, flow):
    response = post_steps(admin, flow, **{"steps-1-name": "Fetch"})
    assert response.status_code == 200
    assert any(form.errors for form in step_forms(response))
    assert [n for _, n, _, _ in stored(flow)] == ["Fetch", "Note", "Reply"]


def test_an_unregistered_stored_action_still_renders_as_it_is(admin, flow):
    Step.objects.filter(flow=flow, name="Note").update(action="retired.thing")
    response = admin.get(change_url(flow))
    assert response.status_code == 200
    page = response.content.decode()
    assert '<optgroup label="Unregistered">' in page
    assert '<option value="retired.thing" selected>retired.thing (unregistered)</option>' in page
    assert "is not a registered action" in page
    saved = post_steps(admin, flow)
    assert saved.status_code == 200
    assert "Unknown action 'retired.thing'" in step_forms(saved)[1].errors["action"][0]


def test_customer_users_are_refused(client, user_a, flow):
    client.force_login(user_a)
    response = client.get(change_url(flow))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
    assert client.post(change_url(flow), {"steps-TOTAL_FORMS": "0"}).status_code == 302
    assert [n for _, n, _, _ in stored(flow)] == ["Fetch", "Note", "Reply"]


def _page_queries(admin, flow: Flow) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert admin.get(change_url(flow)).status_code == 200
    return len(captured.captured_queries)


def test_the_flow_pages_queries_do_not_grow_with_its_steps(admin, make_integration):
    few = make_integration(_spec(STEPS[:2])).flows.get()
    many_steps = [
        {"name": f"Log {n}", "action": "log.write", "inputs": {"message": str(n)}}
        for n in range(12)
    ]
    many = make_integration(_spec(many_steps), name="Many").flows.get()
    _page_queries(admin, few)  # the session and content types, read once
    assert _page_queries(admin, few) == _page_queries(admin, many)


def test_replacing_an_unregistered_action_saves_the_step(admin, flow):
    Step.objects.filter(flow=flow, name="Note").update(action="retired.thing")
    response = post_steps(admin, flow, **{"steps-1-action": "log.write"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert stored(flow)[1][2] == "log.write"


def test_a_step_of_a_flow_with_a_sealed_signing_secret_saves(admin, make_integration):
    # The formset checks the flow with its secrets opened, as the importer sees them.
    spec = _spec()
    spec["flows"][0]["trigger"] = {
        "type": "hmac_webhook",
        "hmac": {"header": "x-signature", "algorithm": "sha256", "secret": "literal-secret"},
    }
    flow = make_integration(spec).flows.get()
    response = post_steps(admin, flow, **{"steps-1-inputs": '{"message": "signed"}'})
    assert response.status_code == 302, step_forms(response)[1].errors
    assert stored(flow)[1][3] == {"message": "signed"}
    assert "literal-secret" not in admin.get(change_url(flow)).content.decode()


def test_two_steps_can_swap_names(admin, flow):
    response = post_steps(admin, flow, **{"steps-0-name": "Note", "steps-1-name": "Fetch"})
    assert response.status_code == 302
    assert [(n, a) for _, n, a, _ in stored(flow)][:2] == [
        ("Note", "http.request"),
        ("Fetch", "log.write"),
    ]


def test_a_new_step_may_take_the_name_of_one_deleted_in_the_same_save(admin, flow):
    response = post_steps(
        admin,
        flow,
        **{
            "steps-1-DELETE": "on",
            "steps-TOTAL_FORMS": "4",
            "steps-3-position": "3",
            "steps-3-name": "Note",
            "steps-3-action": "log.write",
            "steps-3-inputs": '{"message": "again"}',
        },
    )
    assert response.status_code == 302
    assert [(n, i) for _, n, _, i in stored(flow)][-1] == ("Note", {"message": "again"})
