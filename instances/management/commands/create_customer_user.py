"""``manage.py create_customer_user USERNAME EXTERNAL_ID``: a user of one customer."""

from __future__ import annotations

import getpass

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from instances.models import Customer, CustomerUser


class Command(BaseCommand):
    help = "Create a customer user: it sees only that customer's instances and executions."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("external_id", help="The customer's externalId.")
        parser.add_argument("--email", default="")
        parser.add_argument("--password", help="Prompted for when left out.")

    def handle(
        self, *args, username: str, external_id: str, email: str, password: str | None, **options
    ) -> None:
        customer = Customer.objects.filter(external_id=external_id).first()
        if customer is None:
            raise CommandError(f"No customer with externalId {external_id!r}.")
        User = get_user_model()
        if User.objects.filter(username=username).exists():
            raise CommandError(f"User {username!r} already exists.")
        if password is None:
            password = getpass.getpass("Password: ")
        if len(password) < 8:
            raise CommandError("The password must have at least 8 characters.")
        with transaction.atomic():
            user = User.objects.create_user(username=username, email=email, password=password)
            CustomerUser.objects.create(user=user, customer=customer)
        self.stdout.write(f"Created customer user {username} of {customer.name} ({external_id}).")
