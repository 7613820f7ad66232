"""Seal the secrets stored in clear before: ``secret`` variables' defaults and literal
signing secrets (``Flow.hmac``). Reversible: going back opens them again."""

from django.db import migrations

from integrations.secrets import (
    flow_hmac_context,
    hmac_settings_seal,
    secret_open_if_sealed,
    secret_seal,
    variable_default_context,
)


def seal(apps, schema_editor):
    ConfigVariable = apps.get_model("integrations", "ConfigVariable")
    Flow = apps.get_model("integrations", "Flow")
    for variable in ConfigVariable.objects.filter(type="secret"):
        if isinstance(variable.default, str) and variable.default:
            context = variable_default_context(variable.integration_id, variable.key)
            variable.default = secret_seal(variable.default, context=context)
            variable.save(update_fields=["default"])
    for flow in Flow.objects.all():
        sealed = hmac_settings_seal(flow.hmac, flow_id=flow.pk)
        if sealed != flow.hmac:
            flow.hmac = sealed
            flow.save(update_fields=["hmac"])


def open_again(apps, schema_editor):
    ConfigVariable = apps.get_model("integrations", "ConfigVariable")
    Flow = apps.get_model("integrations", "Flow")
    for variable in ConfigVariable.objects.filter(type="secret"):
        context = variable_default_context(variable.integration_id, variable.key)
        variable.default = secret_open_if_sealed(variable.default, context=context)
        variable.save(update_fields=["default"])
    for flow in Flow.objects.all():
        secret = (flow.hmac or {}).get("secret")
        if isinstance(secret, str):
            flow.hmac = {
                **flow.hmac,
                "secret": secret_open_if_sealed(secret, context=flow_hmac_context(flow.pk)),
            }
            flow.save(update_fields=["hmac"])


class Migration(migrations.Migration):
    dependencies = [("integrations", "0001_initial")]

    operations = [migrations.RunPython(seal, open_again)]
