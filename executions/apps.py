from django.apps import AppConfig


class ExecutionsConfig(AppConfig):
    name = "executions"
    verbose_name = "Executions"

    def ready(self) -> None:
        # Imported here, not at the top: Django loads app configs before models, and these
        # modules import models. Importing them registers the Celery tasks in every process
        # (``executions.broker`` sends the run task by its registered name) and connects
        # the worker's signal receivers (executions.signals).
        from executions import retention, signals, tasks  # noqa: F401
