"""Outgoing email (alert notifications, SPEC §9): ``EMAIL_URL`` names the server as
django-environ reads it (``smtp://user:password@host:25``, ``smtp+tls://…``,
``smtp+ssl://…``); the default writes messages to the console."""

from django.core.exceptions import ImproperlyConfigured

from .env import env, env_str

try:
    _email = env.email_url_config(env_str("EMAIL_URL", "consolemail://"))
except Exception as _bad_url:  # django-environ raises several types for a bad URL
    raise ImproperlyConfigured(
        f"Environment variable EMAIL_URL is not valid: {_bad_url}"
    ) from _bad_url

EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST", "localhost")
EMAIL_PORT = _email.get("EMAIL_PORT", 25)
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
# A server that never answers must not hold a delivery (and its worker thread) for long.
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "triggerfish@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
