from django.apps import AppConfig


class TriggersConfig(AppConfig):
    name = "triggers"
    verbose_name = "Triggers and endpoints"

    def ready(self) -> None:
        # Every process that can change a routing row (web, worker, shell) must publish it.
        from core.cache import routing_signals_connect

        routing_signals_connect()
