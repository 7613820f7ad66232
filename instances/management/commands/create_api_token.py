"""``manage.py create_api_token USERNAME``: a management API token for an existing user.

The token is printed as the last line of output, alone, so scripts can take it with
``tail -n 1``. Running it again returns the same token; ``--rotate`` replaces it.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from rest_framework.authtoken.models import Token


class Command(BaseCommand):
    help = "Create (or show) the management API token of an existing user."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--rotate",
            action="store_true",
            help="Replace the user's token with a new one (the old one stops working).",
        )

    def handle(self, *args: Any, username: str, rotate: bool, **options: Any) -> None:
        users = get_user_model()
        try:
            user = users.objects.get(**{users.USERNAME_FIELD: username})
        except users.DoesNotExist as error:
            raise CommandError(f"No user named {username!r}.") from error
        if not user.is_active:
            raise CommandError(f"User {username!r} is inactive; activate it first.")

        with transaction.atomic():
            if rotate:
                Token.objects.filter(user=user).delete()
            token, created = Token.objects.get_or_create(user=user)

        kind = _describe_scope(user)
        state = "Created" if created else "Existing"
        self.stdout.write(f"{state} API token for {username} ({kind}).")
        self.stdout.write("Send it as: Authorization: Bearer <token>")
        self.stdout.write(token.key)


def _describe_scope(user: Any) -> str:
    if user.is_staff:
        return "staff: sees every customer"
    membership = getattr(user, "customer_membership", None)
    if membership is not None:
        return f"customer user: sees only {membership.customer}"
    return "neither staff nor a customer user: sees nothing"
