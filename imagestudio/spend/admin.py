from django.contrib import admin

from imagestudio.spend.models import Attempt


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
