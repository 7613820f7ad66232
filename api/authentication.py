"""``Authorization: Bearer <token>`` (SPEC §5), on DRF's token model."""

from rest_framework.authentication import TokenAuthentication


class BearerTokenAuthentication(TokenAuthentication):
    keyword = "Bearer"
