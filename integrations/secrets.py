"""Secrets at rest: sealing and opening values with the ``TRIGGERFISH_SECRETS_KEY`` keys.

A sealed value is a Fernet token (AES-CBC + HMAC-SHA256) of ``[context, value]``. The
context names the one slot the value belongs to (``instance:<id>:<key>``,
``flow:<id>:hmac``, ...), and opening checks it, so a token is only ever opened where it
was sealed: someone holding a database dump cannot paste another tenant's token into a
field of their own and have a run decrypt it for them. It also makes sealing idempotent
without trusting input: a value that opens for its own slot is already sealed; anything
else is new text and gets sealed.

Several keys may be configured (comma-separated); the first seals, all open, which is
what a rotation needs (``manage.py rotate_secrets_key`` re-seals under the first).

Anything that keeps a secret in the database uses these (config values, signing
secrets; alert channel secrets next): seal when storing, open only where a run or a
check needs the value.
"""

from __future__ import annotations

import functools
import json
import uuid
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

# Every Fernet token starts with its version byte 0x80, base64-encoded: a cheap first test
# before trying to open a value that is probably plain text.
_TOKEN_START = "gAAAAA"  # noqa: S105 - a format marker, not a secret


class SecretError(Exception):
    """A sealed value that does not open: another slot's, or sealed under a key that is no
    longer configured."""


@functools.lru_cache(maxsize=4)
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def _fernet() -> MultiFernet:
    # Keyed by the configured keys, so tests (and a settings change) get the right one.
    return _fernet_for(tuple(settings.TRIGGERFISH_SECRETS_KEYS))


def secret_seal(value: str, *, context: str) -> str:
    """``value`` sealed for the slot ``context`` (idempotent: a value already sealed for it
    is returned as it is)."""
    if secret_is_sealed(value, context=context):
        return value
    return _fernet().encrypt(json.dumps([context, value]).encode()).decode()


def _open(token: str) -> tuple[str, Any]:
    try:
        context, value = json.loads(_fernet().decrypt(token.encode()))
    except (InvalidToken, ValueError, TypeError) as error:
        raise SecretError("The value does not open with the configured keys.") from error
    return context, value


def secret_open(token: str, *, context: str) -> Any:
    """The value sealed in ``token`` for ``context``; SecretError if it was not."""
    sealed_for, value = _open(token)
    if sealed_for != context:
        raise SecretError("The value was sealed for another place.")
    return value


def secret_looks_sealed(value: Any) -> bool:
    """Whether ``value`` has the form of a sealed value (whether it opens is another matter)."""
    return isinstance(value, str) and value.startswith(_TOKEN_START)


def secret_is_sealed(value: Any, *, context: str) -> bool:
    if not secret_looks_sealed(value):
        return False
    try:
        secret_open(value, context=context)
    except SecretError:
        return False
    return True


def secret_open_if_sealed(value: Any, *, context: str) -> Any:
    """``value`` opened when it is sealed for ``context``, else ``value`` itself."""
    if not secret_looks_sealed(value):
        return value
    try:
        return secret_open(value, context=context)
    except SecretError:
        return value


def secret_reseal(value: Any, *, context: str) -> tuple[Any, bool]:
    """``value`` sealed under the first key if it is sealed for ``context`` at all, and
    whether it was."""
    if not secret_is_sealed(value, context=context):
        return value, False
    return _fernet().rotate(value.encode()).decode(), True


# The slots ------------------------------------------------------------------------------


def instance_value_context(instance_id: uuid.UUID, key: str) -> str:
    return f"instance:{instance_id}:{key}"


def variable_default_context(integration_id: uuid.UUID, key: str) -> str:
    return f"integration:{integration_id}:default:{key}"


def flow_hmac_context(flow_id: uuid.UUID) -> str:
    return f"flow:{flow_id}:hmac"


def _is_reference(secret: str) -> bool:
    """``{{ configVars['Signing Secret'] }}`` names a secret kept elsewhere (sealed there):
    the reference itself is no secret and stays readable."""
    return "{{" in secret


def hmac_settings_seal(
    stored: dict[str, Any] | None, *, flow_id: uuid.UUID
) -> dict[str, Any] | None:
    """A flow's ``hmac`` settings with a literal ``secret`` sealed."""
    if not stored or not isinstance(stored.get("secret"), str):
        return stored
    secret = stored["secret"]
    if not secret or _is_reference(secret):
        return stored
    return {**stored, "secret": secret_seal(secret, context=flow_hmac_context(flow_id))}


def hmac_settings_open(stored: dict[str, Any] | None, *, flow_id: uuid.UUID) -> dict[str, Any]:
    """A flow's ``hmac`` settings as the signature check reads them: the secret in clear
    (a reference still to be resolved). Raises SecretError for a secret that does not
    open."""
    settings_ = dict(stored or {})
    secret = settings_.get("secret")
    if isinstance(secret, str) and secret and not _is_reference(secret):
        settings_["secret"] = secret_open(secret, context=flow_hmac_context(flow_id))
    return settings_
