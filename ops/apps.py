from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Running the product: the ``serve`` command (first-run preparation and the process
    supervisor) and the demo it loads on an empty database."""

    name = "ops"
    verbose_name = "Operations"
