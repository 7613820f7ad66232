from django.apps import AppConfig


class InstancesConfig(AppConfig):
    name = "instances"
    verbose_name = "Customers and instances"

    def ready(self) -> None:
        # Every process that can change a routing row (web, worker, shell) must publish it;
        # imported here because models load only once the app registry is ready.
        from instances.cache_signals import routing_signals_connect

        routing_signals_connect()
