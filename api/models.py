"""Management API tokens, stored only as hashes (SPEC §6).

A token is shown once, when it is made (``manage.py create_api_token``); the database keeps
its SHA-256 digest, which authentication looks up, and a short prefix so people can tell
their tokens apart in the admin. A token is 32 random bytes, so a plain hash (no salt, no
stretching) is enough: there is nothing to guess from a dictionary.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models

TOKEN_PREFIX_LENGTH = 11  # "tf_" and eight random characters


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    prefix = models.CharField(max_length=TOKEN_PREFIX_LENGTH, help_text="Shown; not a secret.")
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"
