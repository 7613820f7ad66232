from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts"

    def ready(self) -> None:
        # Imported here, not at the top: these modules import models. Importing them
        # registers the Celery tasks and connects the receivers (alerts.receivers).
        from alerts import receivers, tasks  # noqa: F401
