"""``Authorization: Bearer <token>`` (SPEC §5), against the stored digests of tokens."""

from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from api.models import ApiToken, token_digest


class BearerTokenAuthentication(TokenAuthentication):
    keyword = "Bearer"
    model = ApiToken

    def authenticate_credentials(self, key):
        # One indexed query (the digest is unique), with the user's customer membership
        # joined in: every tenant-scoped queryset asks for it (instances/tenancy.py).
        try:
            token = ApiToken.objects.select_related(
                "user", "user__customer_membership__customer"
            ).get(digest=token_digest(key))
        except ApiToken.DoesNotExist as error:
            raise exceptions.AuthenticationFailed("Invalid token.") from error
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        return (token.user, token)
