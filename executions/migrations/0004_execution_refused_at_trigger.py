from django.db import migrations, models
from django.db.models import F


def refused_rows_mark(apps, schema_editor):
    """Rows recorded by ``webhook_refuse`` before the field existed: a failed webhook
    execution that no worker ran (no steps, no log lines) and that started and ended in
    the same instant, which only the refusal writes."""
    Execution = apps.get_model("executions", "Execution")
    Execution.objects.filter(
        trigger_kind="webhook",
        status="failed",
        attempt=1,
        started_at__isnull=False,
        ended_at=F("started_at"),
        steps__isnull=True,
        logs__isnull=True,
    ).update(refused_at_trigger=True)


class Migration(migrations.Migration):
    dependencies = [
        ("executions", "0003_execution_log_created_at_default"),
    ]

    operations = [
        migrations.AddField(
            model_name="execution",
            name="refused_at_trigger",
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(refused_rows_mark, migrations.RunPython.noop),
    ]
