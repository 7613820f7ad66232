from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations"

    def ready(self) -> None:
        # Built-in and custom components register their actions and triggers on import.
        from integrations.components import registry

        registry.load_components()
