"""Secrets, hosts and cookies.

No secret is kept in the repository. Without ``SECRET_KEY`` a random key is generated once
into the data folder, so every process of one machine (web, worker, beat) signs alike and
signed result URLs stay valid across restarts. ``TRIGGERFISH_SECRETS_KEY`` (the Fernet
keys that seal secret config values and signing secrets in the database) is generated the
same way, into ``secrets_key``; keep that file (or the variable) with the database's backups
but not in them: a dump without the key holds no secret in clear.
"""

import os
import secrets
from collections.abc import Callable

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from .env import DATA_DIR, env_bool, env_str


def _generated_secret(name: str, make: Callable[[], str]) -> str:
    path = DATA_DIR / name
    if not path.exists():
        candidate = make()
        # O_EXCL: when two processes start together exactly one key wins.
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(candidate)
    return path.read_text().strip()


def _secrets_keys() -> list[str]:
    """The Fernet keys, first one sealing; the others only open (kept during a rotation,
    see ``manage.py rotate_secrets_key``)."""
    raw = env_str("TRIGGERFISH_SECRETS_KEY", "") or _generated_secret(
        "secrets_key", lambda: Fernet.generate_key().decode()
    )
    keys = [key.strip() for key in raw.split(",") if key.strip()]
    if not keys:
        raise ImproperlyConfigured("Environment variable TRIGGERFISH_SECRETS_KEY names no key.")
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError as error:
            # The value itself is a secret: say which key is wrong, never what it is.
            raise ImproperlyConfigured(
                f"Environment variable TRIGGERFISH_SECRETS_KEY: key {position} of {len(keys)} "
                "is not a Fernet key (32 url-safe base64-encoded bytes; make one with "
                '`python -c "from cryptography.fernet import Fernet; '
                'print(Fernet.generate_key().decode())"`).'
            ) from error
    return keys


SECRET_KEY = env_str("SECRET_KEY", "") or _generated_secret(
    "secret_key", lambda: secrets.token_urlsafe(50)
)
TRIGGERFISH_SECRETS_KEYS = _secrets_keys()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = [h.strip() for h in env_str("ALLOWED_HOSTS", "*").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in env_str("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
