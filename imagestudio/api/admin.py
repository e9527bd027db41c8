from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from imagestudio.accounts import provisioning as rules
from imagestudio.api.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are listed and revoked here by the rule of the API's /tokens (a superuser's
    only by a superuser). They are never made or moved here: a token's secret is shown
    where it is issued, and a token handed to another user would let its holder act as
    them."""

    list_display = ["prefix", "user", "name", "issued_by", "created_at", "last_used_at"]
    readonly_fields = [
        "user",
        "issued_by",
        "prefix",
        "token_hash",
        "created_at",
        "last_used_at",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApiToken]:
        return super().get_queryset(request).filter(rules.acted_for_by(request.user))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Viewing (and deleting) stays; the name is the only thing one could change.
        return False
