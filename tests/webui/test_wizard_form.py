"""The wizard's form through Django's test client: typed inputs for each variable, values
stored as typed, errors in words next to their field, secrets never echoed, and new
instances started from it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from integrations.config_values import config_values_opened
from tests.fixtures.wizard import SECRET, configure_url, wizard_post

pytestmark = pytest.mark.django_db


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
