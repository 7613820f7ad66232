"""``manage.py import_integration FILE``: store a YAML or JSON definition as a new version,
unless it is identical to the newest version of its name (then nothing is stored)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.definitions import DefinitionError, integration_import_if_changed


class Command(BaseCommand):
    help = (
        "Import an integration definition (YAML or JSON); an existing name gets a new "
        "version, unless the definition is identical to its newest version."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="Definition file; '-' reads standard input.")

    def handle(self, *args: Any, file: str, **options: Any) -> None:
        if file == "-":
            text = sys.stdin.read()
            content_type = None
        else:
            path = Path(file)
            try:
                text = path.read_bytes()
            except OSError as error:
                raise CommandError(f"Cannot read {file}: {error.strerror}.") from error
            content_type = "application/json" if path.suffix.lower() == ".json" else None
        try:
            outcome = integration_import_if_changed(definition=text, content_type=content_type)
        except DefinitionError as error:
            for path_name, message in error.errors.items():
                self.stderr.write(f"{path_name}: {message}" if path_name else message)
            raise CommandError(
                f"{file}: the definition has {len(error.errors)} problem(s); nothing was imported."
            ) from error
        integration = outcome.integration
        described = f"{integration.name} v{integration.version} ({integration.id})"
        if outcome.created:
            self.stdout.write(f"Imported {described}")
        else:
            self.stdout.write(f"Unchanged: {described} is identical; no new version")
