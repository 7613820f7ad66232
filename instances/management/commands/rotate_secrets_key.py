"""``manage.py rotate_secrets_key``: re-seal every stored secret under the first key of
``TRIGGERFISH_SECRETS_KEY``.

Rotation: put the new key first (``TRIGGERFISH_SECRETS_KEY=new,old``) in every process,
run this, then drop the old key.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from instances.secret_rotation import stored_secrets_reseal


class Command(BaseCommand):
    help = "Re-seal every stored secret under the first TRIGGERFISH_SECRETS_KEY key."

    def handle(self, *args: Any, **options: Any) -> None:
        rotation = stored_secrets_reseal()
        self.stdout.write(f"Re-sealed {rotation.resealed} secret(s) under the first key.")
        if rotation.unreadable:
            raise CommandError(
                f"{rotation.unreadable} stored secret(s) open with none of the configured keys "
                "(sealed under a key that was dropped?): add that key back and run this again."
            )
