"""API tokens in the admin: listed by prefix and revocable; made by
``manage.py create_api_token`` (the only place the whole token is ever shown)."""

from __future__ import annotations

from django.contrib import admin

from api.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("shown_prefix", "user", "created_at")
    list_select_related = ("user",)
    search_fields = ("prefix", "user__username")
    fields = ("user", "shown_prefix", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Token")
    def shown_prefix(self, obj: ApiToken) -> str:
        return f"{obj.prefix}…"
