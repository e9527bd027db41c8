from django.contrib import admin

from imagestudio.spend.models import Attempt, Budget, Membership, Team


@admin.register(Attempt)
class AttemptAdmin(admin.ModelAdmin):
    """Read-only: the ledger is append-only, corrections are new rows."""

    list_display = [
        "created_at",
        "user",
        "model",
        "size_sent",
        "http_status",
        "outcome",
        "billed",
        "amount",
        "latency_ms",
        "request_id",
    ]
    list_filter = ["model", "outcome", "billed", "size_tier"]
    search_fields = ["request_id", "user__username"]
    date_hierarchy = "created_at"

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name"]
    search_fields = ["name"]
    inlines = [MembershipInline]


@admin.register(Budget)
class BudgetAdmin(admin.ModelAdmin):
    list_display = ["scope", "team", "user", "monthly_cap", "updated_at"]
    list_filter = ["scope"]
    autocomplete_fields = ["team", "user"]
