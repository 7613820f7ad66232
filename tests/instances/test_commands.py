"""create_customer_user, through call_command and as a script runs it (create_api_token:
tests/api/test_tokens.py)."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from instances.models import CustomerUser
from tests.fixtures.worker import ROOT, database_url

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def run_with_stdin(*args: str, stdin) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stdin=stdin)
    return out.getvalue()


def test_create_customer_user(customer_a):
    output = run("create_customer_user", "dave", "acme", "--password", "long-enough-pw")
    assert "dave" in output
    assert CustomerUser.objects.get(user__username="dave").customer == customer_a


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("dave", "nope", "--password", "long-enough-pw"), "No customer"),
        (("dave", "acme", "--password", "short"), "at least 8"),
    ],
)
def test_create_customer_user_refuses_bad_input(customer_a, args, message):
    with pytest.raises(CommandError, match=message):
        run("create_customer_user", *args)


@pytest.mark.django_db(transaction=True)
def test_create_customer_user_without_a_terminal_generates_and_prints_a_password(
    customer_a, client
):
    result = subprocess.run(
        [sys.executable, "manage.py", "create_customer_user", "erin", "acme"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url(connection.settings_dict)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    password = result.stdout.strip().splitlines()[-1]
    assert len(password) >= 16
    assert CustomerUser.objects.get(user__username="erin").customer == customer_a
    assert client.login(username="erin", password=password)


def test_create_customer_user_with_a_non_terminal_stdin_prints_the_password_once(customer_a):
    output = run_with_stdin("create_customer_user", "frank", "acme", stdin=io.StringIO(""))
    lines = output.strip().splitlines()
    assert lines[-2] == "Generated password (shown only now):"
    assert CustomerUser.objects.get(user__username="frank").user.check_password(lines[-1])
