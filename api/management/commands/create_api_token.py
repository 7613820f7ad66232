"""``manage.py create_api_token USERNAME``: a management API token for an existing user.

The token is printed as the last line of output, alone, so scripts can take it with
``tail -n 1``. Only its hash is stored, so it is shown this once: a user who already has
a token gets a new one only with ``--rotate``, which also revokes the old one.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from api.models import ApiToken
from api.services import api_token_create


class Command(BaseCommand):
    help = "Create the management API token of an existing user (shown once)."

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
        existing = ApiToken.objects.filter(user=user).first()
        if existing is not None and not rotate:
            raise CommandError(
                f"User {username!r} already has a token ({existing.prefix}…, created "
                f"{existing.created_at:%Y-%m-%d %H:%M} UTC). Tokens are stored as hashes and "
                "shown only when created: --rotate replaces it."
            )
        token = api_token_create(user=user, replace=True)
        state = "Replaced" if existing is not None else "Created"
        self.stdout.write(f"{state} API token for {username} ({_describe_scope(user)}).")
        self.stdout.write("It is shown only now. Send it as: Authorization: Bearer <token>")
        self.stdout.write(token)


def _describe_scope(user: Any) -> str:
    if user.is_staff:
        return "staff: sees every customer"
    membership = getattr(user, "customer_membership", None)
    if membership is not None:
        return f"customer user: sees only {membership.customer}"
    return "neither staff nor a customer user: sees nothing"
