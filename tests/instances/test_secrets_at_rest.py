"""Secrets at rest (SPEC §5, §6): secret config values, secret defaults and literal signing
secrets are in the database only sealed; runs and signature checks still read them; an
export leaves them out unless asked. Where they are never shown: test_secrets_never_shown.py;
keys and rotation: test_secrets_keys.py."""

from __future__ import annotations

import io

import pytest
import yaml
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from instances.lifecycle import instance_deploy
from instances.models import Instance
from instances.services import instance_update
from integrations.definitions import integration_export, integration_import
from integrations.models import Integration
from tests.fixtures.secrets import (
    CLEAR,
    DEFAULT_SECRET,
    INSTANCE_SECRET,
    REFERENCED_SECRET,
    SECRETS_DEFINITION,
    SIGNING_SECRET,
    dump,
    post_signed,
    run_tokens,
    table_dump,
)

pytestmark = pytest.mark.django_db


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


# Exported -----------------------------------------------------------------------------------


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
        # Every app forward again: going back also unapplied the apps that depend on
        # these two (state, triggers, executions...), whose tables later tests need.
        executor.migrate(executor.loader.graph.leaf_nodes())
    for secret in CLEAR:
        assert secret not in dump()
    instance = Instance.objects.get(pk=instance.pk)
    assert Integration.objects.get(pk=integration.pk)
    assert run_tokens(instance) == {"api": INSTANCE_SECRET, "fallback": DEFAULT_SECRET}
