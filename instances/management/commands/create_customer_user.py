"""``manage.py create_customer_user USERNAME EXTERNAL_ID``: a user of one customer.

Without ``--password`` the password is asked for at a terminal; with no terminal (a
script, a container's entrypoint) one is generated and printed once, as the last line.
"""

from __future__ import annotations

import getpass
import secrets
import sys

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from instances.models import Customer, CustomerUser

GENERATED_PASSWORD_BYTES = 18


class Command(BaseCommand):
    help = "Create a customer user: it sees only that customer's instances and executions."
    stealth_options = ("stdin",)

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("external_id", help="The customer's externalId.")
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--password",
            help="Prompted for at a terminal when left out; without a terminal, generated "
            "and printed once.",
        )

    def handle(
        self, *args, username: str, external_id: str, email: str, password: str | None, **options
    ) -> None:
        customer = Customer.objects.filter(external_id=external_id).first()
        if customer is None:
            raise CommandError(f"No customer with externalId {external_id!r}.")
        User = get_user_model()
        if User.objects.filter(username=username).exists():
            raise CommandError(f"User {username!r} already exists.")
        # call_command(..., stdin=...) stands in for the process's own, as createsuperuser's.
        stdin = options.get("stdin") or sys.stdin
        generated = password is None and not _is_terminal(stdin)
        if generated:
            password = secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)
        elif password is None:
            password = getpass.getpass("Password: ")
        if len(password) < 8:
            raise CommandError("The password must have at least 8 characters.")
        with transaction.atomic():
            user = User.objects.create_user(username=username, email=email, password=password)
            CustomerUser.objects.create(user=user, customer=customer)
        self.stdout.write(f"Created customer user {username} of {customer.name} ({external_id}).")
        if generated:
            self.stdout.write("Generated password (shown only now):")
            self.stdout.write(password)


def _is_terminal(stream) -> bool:
    try:
        return stream is not None and not stream.closed and stream.isatty()
    except (AttributeError, ValueError):
        return False
