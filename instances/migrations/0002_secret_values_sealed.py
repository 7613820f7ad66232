"""Seal the values of ``secret`` config variables stored in clear before. Reversible."""

from django.db import migrations

from integrations.secrets import instance_value_context, secret_open_if_sealed, secret_seal


def _secret_keys(ConfigVariable, integration_id, cache):
    if integration_id not in cache:
        cache[integration_id] = set(
            ConfigVariable.objects.filter(integration_id=integration_id, type="secret").values_list(
                "key", flat=True
            )
        )
    return cache[integration_id]


def seal(apps, schema_editor):
    Instance = apps.get_model("instances", "Instance")
    ConfigVariable = apps.get_model("integrations", "ConfigVariable")
    cache = {}
    for instance in Instance.objects.all():
        secret_keys = _secret_keys(ConfigVariable, instance.integration_id, cache)
        values = dict(instance.config_values or {})
        for key in secret_keys & values.keys():
            if isinstance(values[key], str) and values[key]:
                values[key] = secret_seal(
                    values[key], context=instance_value_context(instance.pk, key)
                )
        if values != instance.config_values:
            instance.config_values = values
            instance.save(update_fields=["config_values"])


def open_again(apps, schema_editor):
    Instance = apps.get_model("instances", "Instance")
    for instance in Instance.objects.all():
        values = {
            key: secret_open_if_sealed(value, context=instance_value_context(instance.pk, key))
            for key, value in (instance.config_values or {}).items()
        }
        if values != instance.config_values:
            instance.config_values = values
            instance.save(update_fields=["config_values"])


class Migration(migrations.Migration):
    dependencies = [
        ("instances", "0001_initial"),
        ("integrations", "0002_secrets_sealed"),
    ]

    operations = [migrations.RunPython(seal, open_again)]
