"""Management API tokens: made here, and only here, so the clear token exists once."""

from __future__ import annotations

import secrets

from django.contrib.auth.models import User
from django.db import transaction

from api.models import TOKEN_PREFIX_LENGTH, ApiToken, token_digest

TOKEN_MARK = "tf_"  # noqa: S105 - a marker, not a secret
TOKEN_RANDOM_BYTES = 32


@transaction.atomic
def api_token_create(*, user: User, replace: bool = False) -> str:
    """A new token for ``user``, returned in clear: the only time it is. With ``replace``
    the user's other tokens stop working in the same transaction."""
    if replace:
        ApiToken.objects.filter(user=user).delete()
    token = TOKEN_MARK + secrets.token_urlsafe(TOKEN_RANDOM_BYTES)
    ApiToken.objects.create(
        user=user, prefix=token[:TOKEN_PREFIX_LENGTH], digest=token_digest(token)
    )
    return token
