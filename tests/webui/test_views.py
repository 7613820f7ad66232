"""The wizard's views through Django's test client: sign-in, tenant isolation (another
customer's pages are 404), the form's typed values and errors in words, secrets never
echoed, lifecycle actions, history, execution pages and the schedule preview."""

from __future__ import annotations

import pytest
from django.urls import reverse

from executions.models import Execution, ExecutionStatus
from executions.services import execution_create
from instances.lifecycle import instance_deploy
from instances.services import instance_create
from integrations.config_values import config_values_opened
from tests.webui.conftest import ORDERS_DEFINITION

pytestmark = pytest.mark.django_db

SECRET = "stored-secret-do-not-echo"


@pytest.fixture
def orders_instance(orders_integration, customer_a):
    return instance_create(
        integration=orders_integration,
        customer=customer_a,
        name="Webshop orders",
        config_values={"Shop Secret": SECRET},
    )


def wizard_post(**overrides) -> dict[str, str]:
    """A complete, valid submission of the orders wizard."""
    data = {
        "name": "Webshop orders",
        "cv0_value": "https://shop.acme.test",
        "cv1_value": "eu",
        "cv2_value": "25",
        "cv3_value": "on",
        "cv4_value": '{"sku": "product_id"}',
        "cv5_value": "",
        "cv6_type": "custom",
        "cv6_every": "5",
        "cv6_minute": "0",
        "cv6_time": "09:00",
        "cv6_weekday": "1",
        "cv6_cron": "30 8 * * 1-5",
        "cv6_zone": "America/Chicago",
        "save": "Save",
    }
    data.update(overrides)
    return data


def configure_url(instance) -> str:
    return reverse("webui:configure", kwargs={"instance_id": instance.pk})


# Sign-in -----------------------------------------------------------------------------


def test_anonymous_users_are_sent_to_the_wizard_login(client, orders_instance):
    response = client.get(configure_url(orders_instance))
    assert response.status_code == 302
    assert response["Location"].startswith("/wizard/login/?next=/wizard/instances/")


def test_login_page_signs_a_customer_user_in_and_lists_its_instances(
    client, user_a, orders_instance
):
    response = client.post(
        "/wizard/login/", {"username": "alice", "password": "alice-pass"}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/wizard/"
    assert "Webshop orders" in response.content.decode()


def test_wrong_password_is_refused_in_words(client, user_a):
    response = client.post("/wizard/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert "enter a correct username and password" in response.content.decode()


# Isolation ---------------------------------------------------------------------------


def test_instance_list_shows_only_the_users_customer(
    client, user_a, user_b, orders_integration, orders_instance, customer_b
):
    instance_create(
        integration=orders_integration,
        customer=customer_b,
        name="Globex orders",
        config_values={"Shop Secret": "x"},
    )
    client.force_login(user_a)
    page = client.get("/wizard/").content.decode()
    assert "Webshop orders" in page
    assert "Globex orders" not in page


def test_staff_see_every_customers_instances(
    client, staff_user, orders_integration, orders_instance, customer_b
):
    instance_create(
        integration=orders_integration,
        customer=customer_b,
        name="Globex orders",
        config_values={"Shop Secret": "x"},
    )
    client.force_login(staff_user)
    page = client.get("/wizard/").content.decode()
    assert "Webshop orders" in page
    assert "Globex orders" in page


@pytest.mark.parametrize(
    ("method", "name"),
    [
        ("get", "webui:instance"),
        ("get", "webui:configure"),
        ("post", "webui:configure"),
        ("get", "webui:history"),
        ("post", "webui:keys"),
        ("post", "webui:deploy"),
        ("post", "webui:pause"),
        ("post", "webui:enable"),
    ],
)
def test_another_customers_instance_pages_are_404(client, user_b, orders_instance, method, name):
    client.force_login(user_b)
    url = reverse(name, kwargs={"instance_id": orders_instance.pk})
    data = wizard_post() if name == "webui:configure" else {"flow": "Order Created"}
    response = getattr(client, method)(url, data) if method == "post" else client.get(url)
    assert response.status_code == 404
    orders_instance.refresh_from_db()
    assert orders_instance.deployed_at is None
    assert orders_instance.name == "Webshop orders"


def test_another_customers_execution_and_its_replay_are_404(
    client, user_b, make_instance, orders_integration
):
    instance = make_instance(orders_integration, config_values={"Shop Secret": SECRET})
    execution = execution_create(
        instance=instance,
        flow=instance.integration.flows.get(name="Order Created"),
        trigger_kind="webhook",
        payload={"body": {"data": {"id": 1}}},
        enqueue=False,
    )
    client.force_login(user_b)
    assert client.get(reverse("webui:execution", args=[execution.pk])).status_code == 404
    assert client.post(reverse("webui:replay", args=[execution.pk])).status_code == 404
    assert Execution.objects.count() == 1


def test_a_customer_user_cannot_start_an_instance_of_an_integration_it_does_not_run(
    client, user_b, orders_instance, orders_integration
):
    client.force_login(user_b)
    assert "Order Sync" not in client.get("/wizard/instances/new/").content.decode()
    url = reverse("webui:new-configure", args=[orders_integration.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, wizard_post(cv5_value="s")).status_code == 404


# The form ----------------------------------------------------------------------------


def test_the_wizard_draws_typed_inputs_for_each_variable(client, user_a, orders_instance):
    client.force_login(user_a)
    page = client.get(configure_url(orders_instance)).content.decode()
    assert 'type="number"' in page  # Batch Size
    assert '<option value="eu">eu</option>' in page  # Region picklist
    assert 'type="checkbox"' in page  # Send Receipts
    assert "data-json-editor" in page  # Field Mapping
    assert 'type="password"' in page  # Shop Secret
    assert 'name="cv6_cron"' in page and 'name="cv6_zone"' in page  # schedule picker
    assert '<option value="America/Chicago">' in page
    # The stored schedule is previewed server-side before any script runs.
    assert "Every 5 minutes" in page


def test_a_stored_secret_is_never_rendered_back(client, user_a, orders_instance):
    client.force_login(user_a)
    page = client.get(configure_url(orders_instance)).content.decode()
    assert SECRET not in page
    assert "A value is stored and not shown" in page
    # Nor after a failed submission, nor when a new value was typed.
    response = client.post(configure_url(orders_instance), wizard_post(cv2_value="many"))
    assert response.status_code == 400
    assert SECRET not in response.content.decode()
    response = client.post(
        configure_url(orders_instance),
        wizard_post(cv2_value="many", cv5_value="typed-new-secret"),
    )
    assert "typed-new-secret" not in response.content.decode()


def test_saving_stores_typed_values_and_a_blank_secret_keeps_the_stored_one(
    client, user_a, orders_instance
):
    client.force_login(user_a)
    response = client.post(configure_url(orders_instance), wizard_post())
    assert response.status_code == 302
    orders_instance.refresh_from_db()
    assert config_values_opened(orders_instance) == {
        "Shop URL": "https://shop.acme.test",
        "Region": "eu",
        "Batch Size": 25,
        "Send Receipts": True,
        "Field Mapping": {"sku": "product_id"},
        "Shop Secret": SECRET,
        "Sync Schedule": {
            "scheduleType": "custom",
            "value": "30 8 * * 1-5",
            "timeZone": "America/Chicago",
        },
    }
    assert orders_instance.deployed_at is None  # "Save" does not deploy


def test_a_new_secret_replaces_the_stored_one(client, user_a, orders_instance):
    client.force_login(user_a)
    client.post(configure_url(orders_instance), wizard_post(cv5_value="rotated"))
    orders_instance.refresh_from_db()
    assert config_values_opened(orders_instance)["Shop Secret"] == "rotated"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("cv2_value", "many", "Enter a number, e.g. 42 or 2.5."),
        ("cv4_value", '{"sku": ', "Not valid JSON: Expecting value (line 1, column 9)."),
        ("cv6_cron", "61 * * * *", "Cron &#x27;61 * * * *&#x27; is not valid"),
        ("cv6_cron", "30 8 * *", "has 4 fields; five are needed"),
        ("cv6_zone", "Mars/Olympus", "Mars/Olympus is not one of the available choices."),
        ("cv1_value", "asia", "Select a valid choice."),
        ("name", "", "This field is required."),
    ],
)
def test_errors_are_shown_in_words_next_to_their_field(
    client, user_a, orders_instance, field, value, message
):
    client.force_login(user_a)
    response = client.post(configure_url(orders_instance), wizard_post(**{field: value}))
    assert response.status_code == 400
    page = response.content.decode()
    assert f'<p class="field-error" id="id_{field}_error">' in page
    error_html = page.split(f'id="id_{field}_error">', 1)[1].split("</p>", 1)[0]
    assert message in error_html
    orders_instance.refresh_from_db()
    assert orders_instance.config_values["Batch Size"] == 10  # nothing saved


def test_picker_ranges_are_checked(client, user_a, orders_instance):
    client.force_login(user_a)
    response = client.post(
        configure_url(orders_instance), wizard_post(cv6_type="minute", cv6_every="90")
    )
    assert response.status_code == 400
    assert "Enter a whole number from 1 to 59." in response.content.decode()


def test_a_required_secret_left_empty_on_a_new_instance_is_an_error_from_the_services(
    client, user_a, orders_instance, orders_integration
):
    client.force_login(user_a)
    url = reverse("webui:new-configure", args=[orders_integration.pk])
    response = client.post(url, wizard_post(name="Second shop"))
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_cv5_value_error">A value is required.' in page
    assert 'data-first-error="secrets"' in page


def test_a_customer_user_adds_an_instance_of_an_integration_it_runs(
    client, user_a, customer_a, orders_instance, orders_integration
):
    client.force_login(user_a)
    url = reverse("webui:new-configure", args=[orders_integration.pk])
    response = client.post(url, wizard_post(name="Second shop", cv5_value="s2", deploy="1"))
    assert response.status_code == 302
    created = customer_a.instances.get(name="Second shop")
    assert created.is_deployed
    assert config_values_opened(created)["Shop Secret"] == "s2"


def test_staff_create_an_instance_for_a_chosen_customer(
    client, staff_user, customer_b, orders_integration
):
    client.force_login(staff_user)
    url = reverse("webui:new-configure", args=[orders_integration.pk])
    assert 'name="customer"' in client.get(url).content.decode()
    response = client.post(
        url, wizard_post(name="Globex shop", cv5_value="s", customer=str(customer_b.pk))
    )
    assert response.status_code == 302
    assert customer_b.instances.get(name="Globex shop").deployed_at is None


# Lifecycle, keys, history ------------------------------------------------------------


def test_save_and_deploy_then_pause_and_enable(client, user_a, orders_instance):
    client.force_login(user_a)
    response = client.post(configure_url(orders_instance), wizard_post(deploy="1"))
    assert response.status_code == 302
    orders_instance.refresh_from_db()
    assert orders_instance.is_deployed and orders_instance.enabled

    detail = reverse("webui:instance", args=[orders_instance.pk])
    page = client.get(detail).content.decode()
    assert "http://testserver-base/trigger/" in page
    assert "Every weekday at 08:30 (America/Chicago)" in page
    assert page.count(" 08:30 C") == 5  # five next runs, in Chicago time (CST/CDT)

    client.post(reverse("webui:pause", args=[orders_instance.pk]))
    orders_instance.refresh_from_db()
    assert orders_instance.enabled is False
    client.post(reverse("webui:enable", args=[orders_instance.pk]))
    orders_instance.refresh_from_db()
    assert orders_instance.enabled is True


def test_save_on_a_deployed_instance_is_staged_until_the_deploy(client, user_a, orders_instance):
    instance_deploy(instance=orders_instance)
    client.force_login(user_a)
    detail = reverse("webui:instance", args=[orders_instance.pk])
    assert "take effect when you deploy" not in client.get(detail).content.decode()

    response = client.post(configure_url(orders_instance), wizard_post(cv1_value="eu"))

    assert response.status_code == 302
    orders_instance.refresh_from_db()
    live = config_values_opened(orders_instance)
    assert live["Region"] == "us" and live["Shop Secret"] == SECRET
    assert orders_instance.pending_config_values["Region"] == "eu"
    assert "Saved changes take effect when you deploy" in client.get(detail).content.decode()
    # What the user edits next is what was saved, not the live value.
    form = client.get(configure_url(orders_instance)).context["form"]
    assert form["cv1_value"].value() == "eu"

    client.post(reverse("webui:deploy", args=[orders_instance.pk]))

    orders_instance.refresh_from_db()
    assert orders_instance.pending_config_values is None
    live = config_values_opened(orders_instance)
    assert live["Region"] == "eu" and live["Shop Secret"] == SECRET
    assert "take effect when you deploy" not in client.get(detail).content.decode()


def test_save_and_redeploy_applies_the_values_at_once(client, user_a, orders_instance):
    instance_deploy(instance=orders_instance)
    client.force_login(user_a)

    client.post(configure_url(orders_instance), wizard_post(cv1_value="eu", deploy="1"))

    orders_instance.refresh_from_db()
    assert orders_instance.pending_config_values is None
    assert config_values_opened(orders_instance)["Region"] == "eu"


def test_save_on_a_never_deployed_instance_writes_the_values(client, user_a, orders_instance):
    client.force_login(user_a)
    client.post(configure_url(orders_instance), wizard_post(cv1_value="eu"))
    orders_instance.refresh_from_db()
    assert orders_instance.pending_config_values is None
    assert config_values_opened(orders_instance)["Region"] == "eu"


def test_deploy_with_incomplete_configuration_sends_the_user_to_the_wizard(
    client, user_a, orders_instance
):
    orders_instance.config_values = {}
    orders_instance.save()
    client.force_login(user_a)
    response = client.post(reverse("webui:deploy", args=[orders_instance.pk]), follow=True)
    assert response.redirect_chain[-1][0] == configure_url(orders_instance)
    assert "Shop Secret: A value is required." in response.content.decode()
    orders_instance.refresh_from_db()
    assert orders_instance.deployed_at is None


def test_api_keys_are_masked_on_the_page_and_revealed_on_request(
    client, user_a, make_instance, orders_integration
):
    instance = make_instance(orders_integration, config_values={"Shop Secret": SECRET})
    key = instance.api_keys.get(flow_name="Order Created").key
    client.force_login(user_a)
    page = client.get(reverse("webui:instance", args=[instance.pk])).content.decode()
    assert key not in page
    assert key[-4:] in page
    assert SECRET not in page
    revealed = client.post(
        reverse("webui:keys", args=[instance.pk]), {"flow": "Order Created"}
    ).json()
    assert revealed["keys"] == [key]
    assert f"Api-Key: {key}" in revealed["curl"]
    assert "http://testserver-base/trigger/" in revealed["curl"]


def test_key_reveal_needs_a_post_with_the_csrf_token(user_a, make_instance, orders_integration):
    from django.test import Client

    instance = make_instance(orders_integration, config_values={"Shop Secret": SECRET})
    client = Client(enforce_csrf_checks=True)
    client.force_login(user_a)
    url = reverse("webui:keys", args=[instance.pk])
    assert client.get(url).status_code == 405
    assert client.post(url, {"flow": "Order Created"}).status_code == 403


def test_history_execution_page_and_replay(client, user_a, make_instance, orders_integration):
    instance = make_instance(orders_integration, config_values={"Shop Secret": SECRET})
    execution = execution_create(
        instance=instance,
        flow=instance.integration.flows.get(name="Order Created"),
        trigger_kind="webhook",
        payload={"body": {"data": {"id": "A-7"}}},
        enqueue=False,
    )
    from executions.runner import execution_run

    execution_run(execution_id=execution.pk)
    execution.refresh_from_db()
    assert execution.status == ExecutionStatus.SUCCEEDED

    client.force_login(user_a)
    history = client.get(reverse("webui:history", args=[instance.pk])).content.decode()
    assert f'data-execution="{execution.pk}" data-status="succeeded"' in history

    page = client.get(reverse("webui:execution", args=[execution.pk])).content.decode()
    assert "Reply" in page and "&quot;A-7&quot;" in page
    assert "order A-7" in page  # the log line

    response = client.post(reverse("webui:replay", args=[execution.pk]))
    replay = Execution.objects.get(replay_of=execution)
    assert response["Location"] == reverse("webui:execution", args=[replay.pk])


# Schedule preview --------------------------------------------------------------------


def test_schedule_preview_uses_the_schedule_code(client, user_a):
    import time_machine

    client.force_login(user_a)
    with time_machine.travel("2026-03-06 12:00:00+00:00", tick=False):
        data = client.get(
            reverse("webui:schedule-preview"),
            {"type": "custom", "cron": "30 2 * * *", "zone": "America/Chicago"},
        ).json()
    assert data["ok"] is True
    assert data["description"] == "Every day at 02:30 (America/Chicago)"
    # 2026-03-08 02:30 does not exist in Chicago: the run moves to 03:00 CDT (DST rule).
    assert [run["display"] for run in data["nextRuns"]] == [
        "Sat 7 Mar 2026, 02:30 CST",
        "Sun 8 Mar 2026, 03:00 CDT",
        "Mon 9 Mar 2026, 02:30 CDT",
        "Tue 10 Mar 2026, 02:30 CDT",
        "Wed 11 Mar 2026, 02:30 CDT",
    ]


def test_schedule_preview_names_the_field_at_fault(client, user_a):
    client.force_login(user_a)
    url = reverse("webui:schedule-preview")
    data = client.get(url, {"type": "custom", "cron": "* * *", "zone": "UTC"}).json()
    assert data["ok"] is False and "five are needed" in data["errors"]["cron"]
    data = client.get(url, {"type": "day", "time": "25:00", "every": "1", "zone": "UTC"}).json()
    assert "time" in data["errors"]
    data = client.get(url, {"type": "minute", "every": "5", "zone": "Nowhere"}).json()
    assert "Unknown time zone" in data["errors"]["zone"]


def test_schedule_preview_needs_a_signed_in_user(client):
    assert client.get(reverse("webui:schedule-preview")).status_code == 302


def test_definition_fixture_covers_every_config_variable_type():
    types = {variable["type"] for variable in ORDERS_DEFINITION["configVariables"]}
    assert types == {"string", "picklist", "number", "boolean", "json", "secret", "schedule"}
