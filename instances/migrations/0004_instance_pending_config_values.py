from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("instances", "0003_instance_deployed_fingerprint"),
    ]

    operations = [
        migrations.AddField(
            model_name="instance",
            name="pending_config_values",
            field=models.JSONField(blank=True, null=True),
        ),
    ]
