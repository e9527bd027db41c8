from django.contrib import admin
from django.http import HttpRequest

from imagestudio.audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the log is append-only; nobody adds, edits or deletes a row here."""

    list_display = [
        "created_at",
        "actor_name",
        "via",
        "action",
        "object_type",
        "object_repr",
        "address",
    ]
    list_filter = ["object_type", "action", "via"]
    search_fields = ["actor_name", "object_repr", "object_id"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
