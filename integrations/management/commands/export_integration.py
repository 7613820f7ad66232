"""``manage.py export_integration NAME``: print a stored integration as a definition.

Secrets (secret variables' defaults, literal signing secrets) are left out unless
``--include-secrets`` is given: this command, run by whoever operates the server, is the
only way they leave it.
"""

from __future__ import annotations

from typing import Any, Literal

from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.definitions import definition_dump, integration_export
from integrations.models import Integration


class Command(BaseCommand):
    help = "Print an integration's definition (the latest version unless --version is given)."

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        # --version here means the integration's version, not Django's: let ours replace
        # the base option rather than invent another name for the flag.
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="The integration's name.")
        parser.add_argument(
            "--version",
            type=int,
            dest="integration_version",
            metavar="N",
            default=None,
            help="The integration version to export (default: the latest).",
        )
        parser.add_argument(
            "--format", choices=["yaml", "json"], default="yaml", dest="fmt", help="Default: yaml."
        )
        parser.add_argument(
            "--include-secrets",
            action="store_true",
            help="Write secret variables' defaults and literal signing secrets in clear "
            "(left out otherwise; an import then needs them added back).",
        )

    def handle(
        self,
        *args: Any,
        name: str,
        integration_version: int | None,
        fmt: Literal["yaml", "json"],  # argparse's choices
        include_secrets: bool,
        **options: Any,
    ) -> None:
        versions = Integration.objects.filter(name=name)
        if integration_version is not None:
            versions = versions.filter(version=integration_version)
        integration = versions.order_by("-version").first()
        if integration is None:
            which = f" v{integration_version}" if integration_version is not None else ""
            raise CommandError(f"No integration named {name!r}{which}.")
        self.stdout.write(
            definition_dump(
                integration_export(integration=integration, include_secrets=include_secrets),
                fmt=fmt,
            ),
            ending="",
        )
