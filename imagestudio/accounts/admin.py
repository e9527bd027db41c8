"""The user admin, with the rule of the API and the people pages: only a superuser acts
for a superuser (accounts.provisioning.may_act_for). A staff member who is not one does not
see superusers here, so cannot change their password or address and sign in as them, and
cannot give anyone (themselves included) the superuser flag or permissions."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from imagestudio.accounts.models import Identity

User = get_user_model()
# Fields that would make their holder a superuser in all but name.
ELEVATING = ("is_superuser", "groups", "user_permissions")

if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class StudioUserAdmin(UserAdmin):
    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        rows = super().get_queryset(request)
        user: Any = request.user
        return rows if user.is_superuser else rows.filter(is_superuser=False)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = tuple(super().get_readonly_fields(request, obj))
        user: Any = request.user
        return fields if user.is_superuser else fields + ELEVATING


@admin.register(Identity)
class IdentityAdmin(admin.ModelAdmin):
    """Who signs in as whom through the company's provider. Made only by a sign-in; deleting
    one lets that provider account be matched afresh at its next sign-in."""

    list_display = ["user", "subject", "issuer", "last_sign_in"]
    search_fields = ["user__username", "subject"]
    readonly_fields = ["user", "issuer", "subject", "groups", "created_at", "last_sign_in"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
