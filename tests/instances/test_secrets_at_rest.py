"""Secrets at rest (SPEC §5, §6): secret config values, secret defaults and literal signing
secrets are in the database only sealed; runs and signature checks still read them; an
export leaves them out unless asked; rotation re-seals them under the first key."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import subprocess
import sys

import pytest
import yaml
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import override_settings
from django.urls import reverse

from executions.models import Execution
from instances.lifecycle import instance_deploy
from instances.models import Endpoint, Instance
from instances.services import instance_update
from integrations.definitions import integration_export, integration_import
from integrations.models import Integration
from tests.api.conftest import _client_for
from tests.fixtures.executions import flow_run_in_process
from tests.fixtures.worker import ROOT

pytestmark = pytest.mark.django_db

INSTANCE_SECRET = "instance-secret-4f1c9e"
DEFAULT_SECRET = "default-secret-7d2a6b"
SIGNING_SECRET = "whsec-literal-9b3e1f"
REFERENCED_SECRET = "referenced-secret-2c8d4a"
CLEAR = (INSTANCE_SECRET, DEFAULT_SECRET, SIGNING_SECRET, REFERENCED_SECRET)
BODY = b'{"data": {"n": 1}}'

SECRETS_DEFINITION = {
    "name": "Vault",
    "configVariables": [
        {"key": "API Token", "type": "secret", "required": True},
        {"key": "Fallback Token", "type": "secret", "default": DEFAULT_SECRET},
        {"key": "Signing Secret", "type": "secret"},
        {"key": "Region", "type": "string", "default": "eu"},
    ],
    "flows": [
        {
            "name": "Tokens",
            "trigger": {"type": "webhook"},
            "steps": [
                {
                    "name": "Reply",
                    "action": "flow.return",
                    "inputs": {
                        "data": {
                            "api": "{{ configVars['API Token'] }}",
                            "fallback": "{{ configVars['Fallback Token'] }}",
                        }
                    },
                }
            ],
        },
        {
            "name": "Literal",
            "trigger": {
                "type": "hmac_webhook",
                "hmac": {"header": "x-sig", "algorithm": "sha256", "secret": SIGNING_SECRET},
            },
            "steps": [{"name": "R", "action": "flow.return", "inputs": {"data": "ok"}}],
        },
        {
            "name": "Referenced",
            "trigger": {
                "type": "hmac_webhook",
                "hmac": {
                    "header": "x-sig",
                    "algorithm": "sha256",
                    "secret": "{{ configVars['Signing Secret'] }}",
                },
            },
            "steps": [{"name": "R", "action": "flow.return", "inputs": {"data": "ok"}}],
        },
    ],
}


@pytest.fixture
def vault(make_integration, make_instance):
    integration = make_integration(SECRETS_DEFINITION)
    instance = make_instance(
        integration,
        config_values={"API Token": INSTANCE_SECRET, "Signing Secret": REFERENCED_SECRET},
    )
    return integration, instance


def table_dump(table: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - a fixed table name
        return repr(cursor.fetchall())


def dump() -> str:
    return "".join(
        table_dump(table)
        for table in ("instances_instance", "integrations_flow", "integrations_configvariable")
    )


def run_tokens(instance: Instance) -> dict:
    return flow_run_in_process(instance, "Tokens")


def post_signed(client, instance: Instance, flow_name: str, secret: str):
    token = Endpoint.objects.get(instance=instance, flow_name=flow_name).token
    signature = hmac.new(secret.encode(), BODY, hashlib.sha256).hexdigest()
    return client.post(
        f"/trigger/{token}",
        data=BODY,
        content_type="application/json",
        headers={"x-sig": signature},
    )


# In the database only sealed --------------------------------------------------------------


def test_no_secret_is_in_the_tables_in_clear(vault):
    tables = dump()
    for secret in CLEAR:
        assert secret not in tables, secret
    # What is no secret stays readable: the reference and the string default.
    assert "Signing Secret" in table_dump("integrations_flow")
    assert '"eu"' in table_dump("integrations_configvariable")


def test_staged_secret_values_are_in_the_pending_column_only_sealed(client, vault):
    _, instance = vault
    staged_secret = "staged-secret-5e7a1d"
    instance_update(instance=instance, config_values={"Signing Secret": staged_secret})

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pending_config_values FROM instances_instance WHERE id = %s",
            [instance.pk.hex],
        )
        (pending_column,) = cursor.fetchone()
    # Both the new secret and the one carried over from the live values are sealed.
    assert "Signing Secret" in pending_column and "API Token" in pending_column
    for secret in (staged_secret, INSTANCE_SECRET, REFERENCED_SECRET):
        assert secret not in pending_column, secret
    # Signature checks keep the live secret until the deploy, then use the staged one.
    assert post_signed(client, instance, "Referenced", REFERENCED_SECRET).status_code == 200
    assert post_signed(client, instance, "Referenced", staged_secret).status_code == 401
    instance_deploy(instance=instance)
    instance.refresh_from_db()
    assert post_signed(client, instance, "Referenced", staged_secret).status_code == 200
    assert run_tokens(instance)["api"] == INSTANCE_SECRET
    assert staged_secret not in dump()


def test_a_run_reads_the_secret_values_and_defaults_in_clear(vault):
    _, instance = vault
    assert run_tokens(instance) == {"api": INSTANCE_SECRET, "fallback": DEFAULT_SECRET}


def test_signature_checks_use_the_sealed_literal_and_referenced_secrets(client, vault):
    _, instance = vault
    for flow_name, secret in (("Literal", SIGNING_SECRET), ("Referenced", REFERENCED_SECRET)):
        assert post_signed(client, instance, flow_name, secret).status_code == 200, flow_name
        assert post_signed(client, instance, flow_name, "wrong").status_code == 401, flow_name


def test_saving_stored_values_again_keeps_them(vault):
    _, instance = vault
    sealed = dict(instance.config_values)
    instance_deploy(instance=instance)  # cleans and saves the stored values again
    instance.refresh_from_db()
    assert instance.config_values["API Token"] == sealed["API Token"]
    assert run_tokens(instance)["api"] == INSTANCE_SECRET


def test_a_sealed_value_pasted_into_another_instance_is_not_opened_there(
    vault, make_instance, customer_b
):
    integration, instance = vault
    stolen = instance.config_values["API Token"]
    other = make_instance(
        integration, customer=customer_b, name="Other", config_values={"API Token": stolen}
    )
    # Sealed for another slot: taken as the text it is, never opened for this tenant.
    assert run_tokens(other)["api"] == stolen


# Never shown --------------------------------------------------------------------------------


def test_the_api_definition_shows_no_secret_default_nor_literal_signing_secret(
    vault, user_a, staff_user
):
    integration, _ = vault
    for user in (user_a, staff_user):
        response = _client_for(user).get(f"/api/v1/integrations/{integration.pk}")
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


def export(*args: str) -> dict:
    out = io.StringIO()
    call_command("export_integration", "Vault", *args, stdout=out)
    return yaml.safe_load(out.getvalue())


def test_export_leaves_secrets_out_unless_asked(vault):
    plain = yaml.safe_dump(export())
    for secret in CLEAR:
        assert secret not in plain
    full = export("--include-secrets")
    assert full == SECRETS_DEFINITION


def test_an_export_without_secrets_imported_again_wipes_no_instance_value(vault):
    integration, instance = vault
    exported = integration_export(integration=integration)
    # The literal signing secret is left out: the import refuses rather than store none.
    literal = next(flow for flow in exported["flows"] if flow["name"] == "Literal")
    assert "secret" not in literal["trigger"]["hmac"]
    exported["flows"].remove(literal)
    second = integration_import(definition=exported)
    assert second.config_variables.get(key="Fallback Token").default is None
    instance_deploy(instance=instance)
    instance.refresh_from_db()
    assert instance.integration == second
    # The instance's own values (its copy of the old default too) are untouched.
    assert run_tokens(instance) == {"api": INSTANCE_SECRET, "fallback": DEFAULT_SECRET}


# Keys ---------------------------------------------------------------------------------------


def test_rotation_reseals_everything_under_the_first_key(client, settings, vault):
    _, instance = vault
    old_key = settings.TRIGGERFISH_SECRETS_KEYS[0]
    new_key = Fernet.generate_key().decode()
    before = dump()
    with override_settings(TRIGGERFISH_SECRETS_KEYS=[new_key, old_key]):
        out = io.StringIO()
        call_command("rotate_secrets_key", stdout=out)
        # Three instance values (one the copy of a default), a default, a signing secret.
        assert "Re-sealed 5 secret(s)" in out.getvalue()
    assert dump() != before
    with override_settings(TRIGGERFISH_SECRETS_KEYS=[new_key]):
        instance = Instance.objects.get(pk=instance.pk)
        assert run_tokens(instance) == {"api": INSTANCE_SECRET, "fallback": DEFAULT_SECRET}
        assert post_signed(client, instance, "Literal", SIGNING_SECRET).status_code == 200
        for secret in CLEAR:
            assert secret not in dump()


def test_rotation_reseals_staged_values_too(client, settings, vault):
    _, instance = vault
    staged_secret = "staged-secret-8c1f0b"
    instance_update(instance=instance, config_values={"Signing Secret": staged_secret})
    new_key = Fernet.generate_key().decode()
    with override_settings(TRIGGERFISH_SECRETS_KEYS=[new_key, *settings.TRIGGERFISH_SECRETS_KEYS]):
        call_command("rotate_secrets_key", stdout=io.StringIO())
    # The old key is dropped before the deploy that applies the staged value.
    with override_settings(TRIGGERFISH_SECRETS_KEYS=[new_key]):
        instance_deploy(instance=Instance.objects.get(pk=instance.pk))
        assert post_signed(client, instance, "Referenced", staged_secret).status_code == 200


def test_rotation_without_the_old_key_says_so(vault):
    with override_settings(TRIGGERFISH_SECRETS_KEYS=[Fernet.generate_key().decode()]):
        with pytest.raises(CommandError, match="open with none of the configured keys"):
            call_command("rotate_secrets_key", stdout=io.StringIO())


def test_a_signing_secret_sealed_under_a_dropped_key_refuses_the_request(client, vault):
    _, instance = vault
    with override_settings(TRIGGERFISH_SECRETS_KEYS=[Fernet.generate_key().decode()]):
        response = post_signed(client, instance, "Literal", SIGNING_SECRET)
    assert response.status_code == 401
    assert SIGNING_SECRET not in Execution.objects.get().error


@pytest.mark.parametrize("value", ["not-a-key", f"{'A' * 43}=,short"])
def test_a_bad_secrets_key_stops_start_up_naming_the_variable(tmp_path, value):
    env = {k: v for k, v in os.environ.items() if k != "TRIGGERFISH_SECRETS_KEY"}
    env.update(TRIGGERFISH_DATA_DIR=str(tmp_path), TRIGGERFISH_SECRETS_KEY=value)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "TRIGGERFISH_SECRETS_KEY" in result.stderr
    assert "short" not in result.stderr.replace("shortcut", "")  # the value is not echoed


def test_without_the_variable_a_key_is_generated_into_the_data_folder(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TRIGGERFISH_SECRETS_KEY"}
    env.update(TRIGGERFISH_DATA_DIR=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    Fernet((tmp_path / "secrets_key").read_text().strip())  # a valid key


# Existing rows ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_migrating_seals_the_secrets_stored_in_clear_before(vault):
    integration, instance = vault
    executor = MigrationExecutor(connection)
    executor.migrate([("instances", "0001_initial"), ("integrations", "0001_initial")])
    try:
        # Back where secrets were stored in clear (going back opens them).
        assert INSTANCE_SECRET in table_dump("instances_instance")
        assert SIGNING_SECRET in table_dump("integrations_flow")
        assert DEFAULT_SECRET in table_dump("integrations_configvariable")
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(
            executor.loader.graph.leaf_nodes("instances")
            + executor.loader.graph.leaf_nodes("integrations")
        )
    for secret in CLEAR:
        assert secret not in dump()
    instance = Instance.objects.get(pk=instance.pk)
    assert Integration.objects.get(pk=integration.pk)
    assert run_tokens(instance) == {"api": INSTANCE_SECRET, "fallback": DEFAULT_SECRET}


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
    data = {
        "integration": str(flow.integration_id),
        "name": flow.name,
        "position": flow.position,
        "description": "",
        "trigger_type": flow.trigger_type,
        "trigger_inputs": "{}",
        "endpoint_security": flow.endpoint_security,
        "schedule": "null",
        "hmac": json.dumps({"header": "x-sig", "algorithm": "sha256", "secret": typed}),
        "response_headers": "{}",
        "response_body": "",
        "response_content_type": "",
        "queue_type": "parallel",
        "retry_max_attempts": 0,
        "retry_delay_seconds": 60,
        "steps-TOTAL_FORMS": 0,
        "steps-INITIAL_FORMS": 0,
    }
    steps = list(flow.steps.all())
    data.update({"steps-TOTAL_FORMS": len(steps), "steps-INITIAL_FORMS": len(steps)})
    for index, step in enumerate(steps):
        data.update(
            {
                f"steps-{index}-id": step.pk,
                f"steps-{index}-flow": flow.pk,
                f"steps-{index}-position": step.position,
                f"steps-{index}-name": step.name,
                f"steps-{index}-action": step.action,
                f"steps-{index}-inputs": json.dumps(step.inputs),
            }
        )
    response = client.post(f"/admin/integrations/flow/{flow.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert typed not in table_dump("integrations_flow")
    page = client.get(f"/admin/integrations/flow/{flow.pk}/change/").content.decode()
    assert typed not in page
    client.logout()
    assert post_signed(client, instance, "Literal", typed).status_code == 200
    assert post_signed(client, instance, "Literal", SIGNING_SECRET).status_code == 401
