from django.apps import AppConfig


class TriggersConfig(AppConfig):
    name = "triggers"
    verbose_name = "Triggers and endpoints"

    def ready(self) -> None:
        # Imported here, not at the top: Django loads app configs before models, and both
        # modules import models.
        from executions.retention import retention_prune_register
        from triggers.webhooks.accept import idempotency_records_prune

        # The hourly prune (executions.prune_results) clears idempotency keys past their
        # window too; executions sits below triggers and cannot import them itself.
        retention_prune_register(idempotency_records_prune)
