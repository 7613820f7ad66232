"""What ``manage.py serve`` prepares before it starts any process: the database migrated,
static files collected, the demo loaded into an empty database, an admin login; and the
banner lines that say how to log in and what to try.

Every step is safe on every start: migrate and collectstatic are idempotent, the demo
loads only when no integration exists, and the admin is created only when there is no
superuser.
"""

from __future__ import annotations

import secrets
import shlex
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command

from integrations.models import Integration
from ops.demo import demo_describe, demo_load

ADMIN_USERNAME = "admin"

Say = Callable[[str], None]


def database_prepare(*, load_demo: bool, say: Say, warn: Say) -> str | None:
    """Migrate, collect static files, load the demo into an empty database. Returns why
    the demo could not be loaded, if it could not."""
    say(f"Data folder: {settings.DATA_DIR}")
    say(f"Database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}")
    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    say("Database migrated; static files collected.")
    if not load_demo:
        return None
    if Integration.objects.exists():
        return None
    try:
        demo_load()
    except Exception as error:  # the demo is a convenience; the runtime still starts
        warn(f"Could not load the demo integration: {error!r}")
        return repr(error)
    say("Loaded the demo integration (first run).")
    return None


def admin_login_lines() -> list[str]:
    """Create ``admin`` with a random password when the database has no superuser.
    The password is printed once and stored nowhere but the password hash."""
    users = get_user_model()
    if not users.objects.filter(is_superuser=True).exists():
        password = secrets.token_urlsafe(12)
        users.objects.create_superuser(ADMIN_USERNAME, email="", password=password)
        return [
            f"Login:     {ADMIN_USERNAME} / {password}",
            "           (created now; shown only this once — change it in the admin)",
        ]
    names = list(
        users.objects.filter(is_superuser=True)
        .order_by("pk")
        .values_list("username", flat=True)[:3]
    )
    return [
        f"Login:     existing superuser {', '.join(names)} (reused; its password is unchanged)",
        f"           forgot it? python manage.py changepassword {names[0]}",
    ]


def demo_lines(demo_failure: str | None, *, skipped: bool) -> list[str]:
    """The banner's lines about the demo: its webhook URL and a curl to try, or why none."""
    if demo_failure is not None:
        return [f"Demo:      could not be loaded ({demo_failure})"]
    try:
        demo = demo_describe()
    except Exception as error:  # a missing piece must not stop the runtime starting
        return [f"Demo:      unavailable ({error!r})"]
    if demo is None and skipped:
        return ["Demo:      not loaded (--no-demo)"]
    if demo is None:
        return [
            "Demo:      none (it loads only into an empty database; "
            "deploy an instance to get webhook URLs)"
        ]
    headers = ["-H 'Content-Type: application/json'"]
    if demo["api_keys"]:
        headers.append(f"-H {shlex.quote('Api-Key: ' + demo['api_keys'][0])}")
    body = shlex.quote('{"hello": "world"}')
    url = demo["webhook_url"]
    return [
        f"Webhook:   {url}   ({demo['integration']}, flow {demo['flow']!r}, "
        f"customer {demo['customer']!r})",
        f"Try:       curl -X POST {' '.join(headers)} -d {body} {url}",
        "Sync echo: curl -X POST "
        + " ".join(
            [
                *headers,
                "-H 'triggerfish-synchronous: true'",
                "-H 'triggerfish-prefer-direct-sync-response: true'",
            ]
        )
        + f" -d {body} {url}",
    ]
