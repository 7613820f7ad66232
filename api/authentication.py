"""``Authorization: Bearer <token>`` (SPEC §5), on DRF's token model."""

from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication


class BearerTokenAuthentication(TokenAuthentication):
    keyword = "Bearer"

    def authenticate_credentials(self, key):
        # DRF's own, with the user's customer membership joined in: every tenant-scoped
        # queryset asks for it (api/tenancy.py), two queries per request otherwise.
        model = self.get_model()
        try:
            token = model.objects.select_related("user", "user__customer_membership__customer").get(
                key=key
            )
        except model.DoesNotExist as error:
            raise exceptions.AuthenticationFailed("Invalid token.") from error
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        return (token.user, token)
